{#
    One row per reporting date, from the first landing day to the last
    complete date (the latest landing day built), both taken from what landed:
    raw.ingestion_log, and the landing days of the raw tables themselves
    (rows loaded without an ingestion log entry still count). Daily company
    tables (activity_daily) have exactly these rows; event-derived marts stop
    at the last one.

    A landing day later than tomorrow in the reporting time zone cannot be
    known yet: ingestion refuses such files, and rows of one already in raw
    (loaded before that rule) never widen the span. The planning sources
    (campaigns, targets, experiments) land when a plan changes, often ahead of
    time: they never set the span either.
#}
{{ config(materialized='table') }}

{%- set raw_tables = ['events', 'orders', 'users', 'channel_spend', 'kol_posts', 'content'] %}
{%- set latest_landing_day = add_days(business_date(dbt.current_timestamp()), 1) %}

with

landing_days as (

    select landing_date from {{ source('raw', 'ingestion_log') }}
    where
        landing_date <= {{ latest_landing_day }}
        and source in ({{ "'" ~ raw_tables | join("', '") ~ "'" }})
    {%- for table in raw_tables %}

    union all

    select min(_landing_date) as landing_date from {{ source('raw', table) }}
    where _landing_date <= {{ latest_landing_day }}

    union all

    select max(_landing_date) as landing_date from {{ source('raw', table) }}
    where _landing_date <= {{ latest_landing_day }}
    {%- endfor %}

),

bounds as (

    select
        min(landing_date) as first_date,
        max(landing_date) as last_date

    from landing_days

),

day_numbers as (

    -- 0 .. 99999: enough for 270 years of days
    {{ day_numbers(5) }}

),

final as (

    select
        {{ add_days('bounds.first_date', 'day_numbers.day_number') }} as date

    from bounds
    inner join day_numbers
        on day_numbers.day_number <= {{ dbt.datediff('bounds.first_date', 'bounds.last_date', 'day') }}

)

select * from final
