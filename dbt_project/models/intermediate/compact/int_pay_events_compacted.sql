{#
    Distinct pay_success times per business date x device x user_id as sent
    (null while anonymous): what content_daily needs to find the payers among
    an item's viewers. person_id is resolved in the mart. Incremental like
    int_device_days_aggregated.
#}
with

events as (

    select * from {{ ref('stg_tracking__events') }}
    where event_name = 'pay_success'
        and {{ in_run_window('event_date') }}

),

final as (

    select
        event_date,
        device_id,
        user_id,
        event_time as paid_at,
        count(*) as events

    from events
    group by event_date, device_id, user_id, event_time

)

select * from final
