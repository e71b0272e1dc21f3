-- metrics_daily, the table alerts read: no duplicate (date, metric,
-- dimension, dimension_value), and every ratio row is numerator / denominator
-- (NULL exactly when the denominator is 0).
with

metrics as (

    select * from {{ ref('metrics_daily') }}

),

duplicates as (

    select
        date,
        metric,
        dimension,
        dimension_value,
        'duplicate key' as problem

    from metrics
    group by date, metric, dimension, dimension_value
    having count(*) > 1

),

inconsistent_ratios as (

    select
        date,
        metric,
        dimension,
        dimension_value,
        'value is not numerator / denominator' as problem

    from metrics
    where denominator is not null
        and (
            (denominator = 0 and value is not null)
            or (
                denominator <> 0
                and (value is null or abs(value - numerator / denominator) > 0.000001 * (1 + abs(value)))
            )
        )

),

final as (

    select * from duplicates
    union all
    select * from inconsistent_ratios

)

select * from final
