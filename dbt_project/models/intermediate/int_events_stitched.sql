with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

final as (

    select
        events.event_id,
        events.event_time,
        events.event_date,
        events.event_name,
        events.device_id,
        events.user_id,
        -- docs/metrics.md Identity: anonymous activity before sign-up belongs to
        -- the user who later signs up on that device
        {{ person_id('events.user_id', 'device_users.user_id', 'events.device_id') }} as person_id,
        events.platform,
        events.app_version,
        events.channel,
        events.campaign_id,
        events.region,
        events.session_id,
        events.content_id,
        events.order_id,
        events.properties,
        events.landing_date

    from events
    left join device_users
        on events.device_id = device_users.device_id

)

select * from final
