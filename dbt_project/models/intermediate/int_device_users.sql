{{ config(materialized='table') }}

with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

signed_in_events as (

    select
        device_id,
        user_id,
        event_time,
        event_id

    from events
    where user_id is not null

),

ranked as (

    -- a shared device keeps the first user it carried
    select
        *,
        row_number() over (
            partition by device_id
            order by event_time, event_id
        ) as user_rank

    from signed_in_events

),

final as (

    select
        device_id,
        user_id,
        event_time as first_user_event_at

    from ranked
    where user_rank = 1

)

select * from final
