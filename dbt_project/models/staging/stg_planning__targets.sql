with

source as (

    select * from {{ source('raw', 'targets') }}

),

renamed as (

    select
        period_start,
        period_end,
        metric,
        -- an empty slice is the company total, as in marts.metrics_daily
        coalesce(dimension, 'all') as dimension,
        coalesce(dimension_value, 'all') as dimension_value,
        target,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- the latest landing day wins per target
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['period_start', 'period_end', 'metric', 'dimension', 'dimension_value'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        period_start,
        period_end,
        metric,
        dimension,
        dimension_value,
        target,
        landing_date

    from versioned

)

select * from final
