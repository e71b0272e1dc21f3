{#
    One row per event_id, on its business date. Incremental by business date:
    a run with var min_date recomputes every event_date >= min_date -
    lookback_days (the pre_hook deletes those dates, then they are appended again;
    configured in dbt_project.yml with the compact models), so a late event landing on
    D+1 lands on its own date D. Without min_date, every date is recomputed.
#}
{%- set recompute_window = is_incremental() and window_start() is not none %}

with

source as (

    select * from {{ source('raw', 'events') }}
    {%- if recompute_window %}
    -- a business date starts up to a day before its UTC date: scan one day more
    where event_time >= {{ window_start(extra_days=1) }}
    {%- endif %}

),

renamed as (

    select
        event_id,
        event_time,
        {{ business_date('event_time') }} as event_date,
        event_name,
        device_id,
        user_id,
        platform,
        app_version,
        channel,
        campaign_id,
        region,
        session_id,
        content_id,
        order_id,
        properties,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

repeated_ids as (

    -- SDK retries resend an event under its event_id; most ids arrive once
    select event_id
    from renamed
    group by event_id
    having count(*) > 1

),

repeated_copies as (

    select *
    from renamed
    where
        exists (
            select 1
            from repeated_ids
            where repeated_ids.event_id = renamed.event_id
        )

),

deduplicated as (

    -- keep the first delivered copy (earliest landing_date, then file, then
    -- row number). Only the repeated ids are ranked: a window over every event
    -- would sort all of them (twice the time on a full build). copy_number is
    -- the rank column deduplicate() adds, 1 on both sides of the union
    select
        *,
        1 as copy_number

    from renamed
    where
        not exists (
            select 1
            from repeated_ids
            where repeated_ids.event_id = renamed.event_id
        )

    union all

    {{ deduplicate(
        'repeated_copies',
        partition_by=['event_id'],
        order_by=['landing_date', 'landing_file', 'landing_row_number'],
        rank_column='copy_number'
    ) }}

),

final as (

    select
        event_id,
        event_time,
        event_date,
        event_name,
        device_id,
        user_id,
        platform,
        app_version,
        channel,
        campaign_id,
        region,
        session_id,
        content_id,
        order_id,
        properties,
        landing_date

    from deduplicated
    {%- if recompute_window %}
    where event_date >= {{ window_start() }}
        -- a copy already kept on a date before the window stays the only one
        and not exists (
            select 1
            from {{ this }} as kept
            where kept.event_id = deduplicated.event_id
                and kept.event_date < {{ window_start() }}
        )
    {%- endif %}

)

select * from final
