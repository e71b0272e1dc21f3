{#
    One row per business date x person with any tracking event: the device
    days of int_device_days_aggregated with person_id resolved as of this
    build by the person_id macro (docs/metrics.md Identity: the event's
    user_id, else the user its device carries in int_device_users, else
    'd:' || device_id). Rebuilt in full on
    every run from the compact device days, so a device that signs up today
    moves its anonymous days of any date, however old, to its user.
#}
{{ config(materialized='table') }}

with

device_days as (

    select * from {{ ref('int_device_days_aggregated') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

resolved as (

    select
        device_days.event_date,
        {{ person_id('device_days.user_id', 'device_users.user_id', 'device_days.device_id') }} as person_id,
        device_days.first_event_at,
        device_days.first_event_id,
        device_days.first_platform,
        device_days.first_channel,
        device_days.events,
        device_days.register_events

    from device_days
    left join device_users
        on device_days.device_id = device_users.device_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_date, person_id
            order by first_event_at, first_event_id
        ) as device_day_rank,
        sum(events) over (partition by event_date, person_id) as person_events,
        sum(register_events) over (partition by event_date, person_id) as person_register_events

    from resolved

),

final as (

    select
        event_date,
        person_id,
        first_event_at,
        first_event_id,
        first_platform,
        first_channel,
        cast(person_events as bigint) as events,
        cast(person_register_events as bigint) as register_events

    from ranked
    where device_day_rank = 1

)

select * from final
