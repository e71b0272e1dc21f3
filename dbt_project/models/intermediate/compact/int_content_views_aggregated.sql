{#
    content_view events per business date x device x user_id as sent (null
    while anonymous) x content item: first and last view time and the number
    of views. person_id is resolved in content_daily. Incremental like
    int_device_days_aggregated.
#}
with

events as (

    select * from {{ ref('stg_tracking__events') }}
    where event_name = 'content_view'
        and content_id is not null
        and {{ in_run_window('event_date') }}

),

final as (

    select
        event_date,
        device_id,
        user_id,
        content_id,
        min(event_time) as first_viewed_at,
        max(event_time) as last_viewed_at,
        count(*) as views

    from events
    group by event_date, device_id, user_id, content_id

)

select * from final
