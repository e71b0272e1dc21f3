-- activity_daily has exactly one row per date from the first landing day to
-- the last complete date: no gap, no duplicate, no date outside the span.
-- In Dagster, a check of activity_daily (it reads int_business_dates_spanned too).
{{ config(meta={'dagster': {'ref': {'name': 'activity_daily'}}}) }}

with

activity as (

    select * from {{ ref('activity_daily') }}

),

dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

bounds as (

    select
        min(date) as first_date,
        max(date) as last_date,
        count(*) as dates

    from dates

),

activity_bounds as (

    select
        min(date) as first_date,
        max(date) as last_date,
        count(*) as row_count,
        count(distinct date) as distinct_dates

    from activity

),

final as (

    select
        bounds.first_date,
        bounds.last_date,
        activity_bounds.first_date as activity_first_date,
        activity_bounds.last_date as activity_last_date,
        activity_bounds.row_count,
        activity_bounds.distinct_dates

    from bounds
    cross join activity_bounds
    where activity_bounds.row_count <> activity_bounds.distinct_dates
        or activity_bounds.row_count <> bounds.dates
        or activity_bounds.first_date <> bounds.first_date
        or activity_bounds.last_date <> bounds.last_date
        or (
            bounds.dates > 0
            and activity_bounds.row_count <> {{ dbt.datediff(
                'activity_bounds.first_date', 'activity_bounds.last_date', 'day'
            ) }} + 1
        )

)

select * from final
