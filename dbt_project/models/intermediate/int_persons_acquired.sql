{#
    One row per person ever tracked: when and where they were acquired.
    cohort_date is the date of their first-ever event; acquisition_channel is
    (docs/metrics.md retention_cohort) the user's channel in the users source, else
    the channel of their first event, else '(none)'; first_register_date is
    the date of their first register event (new_users when the users source is
    empty). Rebuilt in full from int_person_days_stitched.
#}
{{ config(materialized='table') }}

with

person_days as (

    select * from {{ ref('int_person_days_stitched') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id
            order by event_date, first_event_at, first_event_id
        ) as day_rank,
        min(case when register_events > 0 then event_date end) over (
            partition by person_id
        ) as first_register_date

    from person_days

),

first_days as (

    select
        person_id,
        event_date as cohort_date,
        first_event_at,
        first_platform,
        first_channel,
        first_register_date

    from ranked
    where day_rank = 1

),

final as (

    select
        first_days.person_id,
        first_days.cohort_date,
        first_days.first_event_at,
        first_days.first_platform,
        first_days.first_channel,
        coalesce(users.channel, first_days.first_channel, '(none)') as acquisition_channel,
        first_days.first_register_date

    from first_days
    left join users
        on first_days.person_id = users.user_id

)

select * from final
