{#
    Device -> user: the first user_id a device carries (earliest event_time,
    then event_id). Read from the compact device days, not the events: the
    earliest signed-in event of a device is the first event of its own
    (date, device, user) group, so ranking the groups' first events finds it
    in a table a fraction of the size.
#}
{{ config(materialized='table') }}

with

device_days as (

    select * from {{ ref('int_device_days_aggregated') }}

),

signed_in_days as (

    select
        device_id,
        user_id,
        first_event_at,
        first_event_id

    from device_days
    where user_id is not null

),

ranked as (

    -- a shared device keeps the first user it carried
    select
        *,
        row_number() over (
            partition by device_id
            order by first_event_at, first_event_id
        ) as user_rank

    from signed_in_days

),

final as (

    select
        device_id,
        user_id,
        first_event_at as first_user_event_at

    from ranked
    where user_rank = 1

)

select * from final
