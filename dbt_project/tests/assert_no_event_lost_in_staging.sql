{#
    Every event_id in raw.events is in stg_tracking__events. An incremental
    run only recomputes business dates >= min_date - lookback_days, so an
    event landing later than the lookback is missing until a full refresh:
    this warns about it (raise lookback_days, or run --full-refresh).
#}
{{ config(severity='warn') }}

with

raw_events as (

    select distinct event_id from {{ source('raw', 'events') }}

),

staged_events as (

    select event_id from {{ ref('stg_tracking__events') }}

),

final as (

    select raw_events.event_id
    from raw_events
    left join staged_events
        on raw_events.event_id = staged_events.event_id
    where staged_events.event_id is null

)

select * from final
