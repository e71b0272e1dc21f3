{#
    Tracking activity compacted to one row per business date x device x
    user_id as sent (null while anonymous): the first event of the group (time,
    id, platform, channel) and event counts. person_id is NOT resolved here:
    a device that signs up later changes the person of its old anonymous rows,
    so the marts resolve it from int_device_users at build time and this table
    only ever changes on the dates that the run recomputes.

    Incremental, like every model of this folder (configured once in
    dbt_project.yml): a run with min_date recomputes the dates >=
    window_start() (delete_run_window pre_hook, then append), like
    stg_tracking__events.
#}
with

events as (

    select * from {{ ref('stg_tracking__events') }}
    where {{ in_run_window('event_date') }}

),

ranked as (

    select
        event_date,
        device_id,
        user_id,
        event_id,
        event_time,
        platform,
        channel,
        row_number() over (
            partition by event_date, device_id, user_id
            order by event_time, event_id
        ) as event_rank,
        count(*) over (
            partition by event_date, device_id, user_id
        ) as events,
        sum(case when event_name = 'register' then 1 else 0 end) over (
            partition by event_date, device_id, user_id
        ) as register_events

    from events

),

final as (

    select
        event_date,
        device_id,
        user_id,
        event_time as first_event_at,
        event_id as first_event_id,
        platform as first_platform,
        channel as first_channel,
        cast(events as bigint) as events,
        cast(register_events as bigint) as register_events

    from ranked
    where event_rank = 1

)

select * from final
