{#
    Tracking activity per business date x device x user_id as sent (null
    while anonymous) x platform x channel x region: the slices a device was
    active in that day, with their event counts. metrics_daily counts DAU by
    platform, channel and region from it (person_id resolved at build time,
    see int_device_days_aggregated): about a sixth of the events' rows.
    Incremental like int_device_days_aggregated.
#}
with

events as (

    select * from {{ ref('stg_tracking__events') }}
    where {{ in_run_window('event_date') }}

),

final as (

    select
        event_date,
        device_id,
        user_id,
        platform,
        channel,
        region,
        count(*) as events

    from events
    group by event_date, device_id, user_id, platform, channel, region

)

select * from final
