{#
    Progress of every target (目标达成) on each business date of its period up
    to the last complete date (docs/review.md). The weekday profile that
    paces a count or a sum is each weekday's median over the 4 weeks before
    the period (days before the first landing day are left out; with no
    history at all every day weighs the same).
#}

{%- set target_key = ['period_start', 'period_end', 'metric', 'dimension', 'dimension_value'] %}

with

targets as (

    select * from {{ ref('stg_planning__targets') }}

),

metrics as (

    select * from {{ ref('metrics_daily') }}

),

reporting_dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

ratio_metrics as (
    -- a ratio is a metric with a denominator (metrics_daily leaves it NULL for counts and sums)
    select distinct metric from metrics
    where denominator is not null
),

last_dates as (

    select max(date) as last_complete_date from reporting_dates

),

day_numbers as (

    -- 0 .. 999: periods up to 1,000 days
    {{ day_numbers(3) }}

),

period_days as (

    select
        targets.*,
        {{ add_days('targets.period_start', 'day_numbers.day_number') }} as date,
        metrics.value,
        metrics.numerator,
        metrics.denominator,
        ratio_metrics.metric is not null as is_ratio

    from targets
    inner join day_numbers
        on day_numbers.day_number <= {{ dbt.datediff('targets.period_start', 'targets.period_end', 'day') }}
    left join metrics
        on
        metrics.date = {{ add_days('targets.period_start', 'day_numbers.day_number') }}
        and targets.metric = metrics.metric
        and targets.dimension = metrics.dimension
        and targets.dimension_value = metrics.dimension_value
    left join ratio_metrics
        on targets.metric = ratio_metrics.metric

),

history_days as (

    -- the 4 weeks before the period, where data exists; a day without a row is 0
    select
        targets.period_start,
        targets.period_end,
        targets.metric,
        targets.dimension,
        targets.dimension_value,
        {{ weekday('reporting_dates.date') }} as weekday,
        coalesce(metrics.value, 0) as value

    from targets
    inner join reporting_dates
        on
        targets.period_start > reporting_dates.date
        and reporting_dates.date >= {{ add_days('targets.period_start', -28) }}
    left join metrics
        on
        reporting_dates.date = metrics.date
        and targets.metric = metrics.metric
        and targets.dimension = metrics.dimension
        and targets.dimension_value = metrics.dimension_value

),

weekday_profile as (

    select
        {{ target_key | join(', ') }},
        weekday,
        {{ median('value') }} as weight

    from history_days
    group by {{ target_key | join(', ') }}, weekday

),

weighted_days as (

    select
        period_days.*,
        weekday_profile.weight

    from period_days
    left join weekday_profile
        on
        period_days.period_start = weekday_profile.period_start
        and period_days.period_end = weekday_profile.period_end
        and period_days.metric = weekday_profile.metric
        and period_days.dimension = weekday_profile.dimension
        and period_days.dimension_value = weekday_profile.dimension_value
        and {{ weekday('period_days.date') }} = weekday_profile.weekday

),

profile_totals as (

    select
        {{ target_key | join(', ') }},
        sum(weight) as profile_total

    from weighted_days
    group by {{ target_key | join(', ') }}

),

running as (

    select
        *,
        sum(coalesce(value, 0)) over (
            partition by {{ target_key | join(', ') }}
            order by date rows between unbounded preceding and current row
        ) as value_to_date,
        sum(coalesce(numerator, 0)) over (
            partition by {{ target_key | join(', ') }}
            order by date rows between unbounded preceding and current row
        ) as numerator_to_date,
        sum(coalesce(denominator, 0)) over (
            partition by {{ target_key | join(', ') }}
            order by date rows between unbounded preceding and current row
        ) as denominator_to_date

    from weighted_days

),

cumulated as (

    select
        running.*,
        -- no usable history: every day of the period weighs the same
        case when profile_totals.profile_total > 0 then coalesce(running.weight, 0) else 1 end as day_weight,
        case
            when profile_totals.profile_total > 0 then profile_totals.profile_total
            else
                {{ dbt.datediff('running.period_start', 'running.period_end', 'day') }} + 1  -- noqa: LT05
        end as period_weight

    from running
    inner join profile_totals
        on
        running.period_start = profile_totals.period_start
        and running.period_end = profile_totals.period_end
        and running.metric = profile_totals.metric
        and running.dimension = profile_totals.dimension
        and running.dimension_value = profile_totals.dimension_value

),

shares as (

    select
        *,
        case
            when is_ratio then {{ safe_divide('numerator_to_date', 'denominator_to_date') }}
            else value_to_date
        end as actual_to_date,
        case
            when is_ratio then 1.0
            else
                sum(day_weight) over (
                    partition by {{ target_key | join(', ') }}
                    order by date rows between unbounded preceding and current row
                ) / period_weight
        end as expected_share_to_date

    from cumulated

),

measured as (

    select
        shares.*,
        {{ safe_divide('shares.actual_to_date', 'shares.target') }} as attainment_to_date,
        {{ safe_divide('shares.actual_to_date', 'shares.expected_share_to_date') }} as projected

    from shares
    cross join last_dates
    where shares.date <= last_dates.last_complete_date

),

final as (

    select
        date,
        period_start,
        period_end,
        metric,
        dimension,
        dimension_value,
        target,
        actual_to_date,
        attainment_to_date,
        expected_share_to_date,
        {{ safe_divide('attainment_to_date', 'expected_share_to_date') }} as pace,
        case when is_ratio then actual_to_date else projected end as projected,
        case
            when {{ safe_divide('attainment_to_date', 'expected_share_to_date') }} >= 1 then 'ahead'
            when {{ safe_divide('attainment_to_date', 'expected_share_to_date') }} >= 0.95 then 'on_track'
            else 'behind'
        end as status

    from measured

)

select * from final
