{#
    Own content per business date x content item x platform (docs/metrics.md
    content_daily): the platforms' daily statistics plus, from tracking,
    the persons with a content_view of the item on D (content_viewers) and
    those of them with a pay_success within content_assist_window_hours after
    one of those views (content_assisted_payers).

    Tracking knows the item, not the content platform (its platform is the
    app's: ios, web, ...), so the tracking columns are per item and date and
    repeat on each platform row of a cross-posted item; an item viewed in the
    app on a date without a statistics row gets a row with platform '(none)'.
    All views of a person on D fall within one day, so "a pay within the
    window after a view" is "a pay between the first view and the last view
    plus the window" (exact whenever the window is at least a day long).
    Tracking dates stop at the last complete date.
#}

{%- set assist_hours = var('content_assist_window_hours') | int %}
{%- set max_day_offset = (assist_hours + 23) // 24 + 1 %}

with

stats as (

    select * from {{ ref('stg_content__daily_stats') }}

),

content_views as (

    select * from {{ ref('int_content_views_aggregated') }}

),

pay_events as (

    select * from {{ ref('int_pay_events_compacted') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

last_complete as (

    select max(date) as last_complete_date from dates

),

viewers as (

    select
        content_views.event_date as date,
        content_views.content_id,
        {{ person_id('content_views.user_id', 'device_users.user_id', 'content_views.device_id') }} as person_id,
        min(content_views.first_viewed_at) as first_viewed_at,
        max(content_views.last_viewed_at) as last_viewed_at

    from content_views
    left join device_users
        on content_views.device_id = device_users.device_id
    cross join last_complete
    where content_views.event_date <= last_complete.last_complete_date
    group by
        content_views.event_date,
        content_views.content_id,
        {{ person_id('content_views.user_id', 'device_users.user_id', 'content_views.device_id') }}

),

payments as (

    select distinct
        pay_events.event_date,
        {{ person_id('pay_events.user_id', 'device_users.user_id', 'pay_events.device_id') }} as person_id,
        pay_events.paid_at

    from pay_events
    left join device_users
        on pay_events.device_id = device_users.device_id

),

day_offsets as (

    select 0 as day_offset
    {%- for day_offset in range(1, max_day_offset + 1) %}

    union all

    select {{ day_offset }}
    {%- endfor %}

),

viewer_pay_days as (

    select
        viewers.*,
        {{ add_days('viewers.date', 'day_offsets.day_offset') }} as pay_date

    from viewers
    cross join day_offsets

),

assisted_payers as (

    select distinct
        viewer_pay_days.date,
        viewer_pay_days.content_id,
        viewer_pay_days.person_id

    from viewer_pay_days
    inner join payments
        on payments.person_id = viewer_pay_days.person_id
        and payments.event_date = viewer_pay_days.pay_date
        and payments.paid_at >= viewer_pay_days.first_viewed_at
        and payments.paid_at <= {{ dbt.dateadd('hour', assist_hours, 'viewer_pay_days.last_viewed_at') }}

),

tracking as (

    select
        viewers.date,
        viewers.content_id,
        count(*) as content_viewers,
        count(assisted_payers.person_id) as content_assisted_payers

    from viewers
    left join assisted_payers
        on viewers.date = assisted_payers.date
        and viewers.content_id = assisted_payers.content_id
        and viewers.person_id = assisted_payers.person_id
    group by viewers.date, viewers.content_id

),

stats_rows as (

    select
        stats.stat_date as date,
        stats.content_id,
        stats.platform,
        stats.title,
        stats.content_format,
        stats.exposures,
        stats.clicks,
        stats.reads,
        stats.dwell_seconds_total,
        stats.likes,
        stats.comments,
        stats.shares,
        stats.new_followers,
        coalesce(tracking.content_viewers, 0) as content_viewers,
        coalesce(tracking.content_assisted_payers, 0) as content_assisted_payers

    from stats
    left join tracking
        on stats.stat_date = tracking.date
        and stats.content_id = tracking.content_id

),

tracking_only_rows as (

    select
        tracking.date,
        tracking.content_id,
        '(none)' as platform,
        cast(null as {{ dbt.type_string() }}) as title,
        cast(null as {{ dbt.type_string() }}) as content_format,
        cast(null as bigint) as exposures,
        cast(null as bigint) as clicks,
        cast(null as bigint) as reads,
        cast(null as {{ type_double() }}) as dwell_seconds_total,
        cast(null as bigint) as likes,
        cast(null as bigint) as comments,
        cast(null as bigint) as shares,
        cast(null as bigint) as new_followers,
        tracking.content_viewers,
        tracking.content_assisted_payers

    from tracking
    where
        not exists (
            select 1
            from stats
            where stats.stat_date = tracking.date
                and stats.content_id = tracking.content_id
        )

),

all_rows as (

    select * from stats_rows
    union all
    select * from tracking_only_rows

),

final as (

    select
        date,
        content_id,
        platform,
        title,
        content_format,
        exposures,
        clicks,
        {{ safe_divide('clicks', 'exposures') }} as ctr,
        reads,
        {{ safe_divide('dwell_seconds_total', 'reads') }} as avg_dwell_seconds,
        {{ safe_divide(
            'case when likes is null and comments is null and shares is null then null
                else coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) end',
            'coalesce(reads, clicks)'
        ) }} as interaction_rate,
        new_followers,
        cast(content_viewers as bigint) as content_viewers,
        cast(content_assisted_payers as bigint) as content_assisted_payers

    from all_rows

)

select * from final
