{#
    Conversion funnel per business date x platform x channel x step
    (docs/metrics.md funnel_daily; steps and window from vars funnel_steps and
    funnel_window_hours). A person enters on D at t1, their first step-1 event
    of D; the row's platform and channel are the entry event's (channel NULL
    -> '(none)'). They reach step k with events of steps 2..k at
    t1 <= t2 <= ... <= tk <= t1 + window: taking at each step the earliest
    event not before the previous step is optimal, so the chain is built one
    step at a time. Steps may fall on the next dates (the window crosses
    midnight), so the mart is rebuilt in full from the compact
    int_funnel_events_compacted, with person_id resolved as of this build.

    Each slice with entrants has a row for every step (persons 0 where
    nobody got there). Entry dates stop at the last complete date.
#}

{%- set steps = funnel_steps() %}
{%- set window_hours = var('funnel_window_hours') | int %}
{#- dates a step may fall on after the entry date: the window, plus one for a daylight-saving day #}
{%- set max_day_offset = (window_hours + 23) // 24 + 1 %}

with

funnel_events as (

    select * from {{ ref('int_funnel_events_compacted') }}

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

resolved_events as (

    select
        funnel_events.step_index,
        funnel_events.event_date,
        {{ person_id('funnel_events.user_id', 'device_users.user_id', 'funnel_events.device_id') }} as person_id,
        funnel_events.event_time,
        funnel_events.event_id,
        funnel_events.platform,
        funnel_events.channel

    from funnel_events
    left join device_users
        on funnel_events.device_id = device_users.device_id

),

entry_candidates as (

    select
        *,
        row_number() over (
            partition by event_date, person_id
            order by event_time, event_id
        ) as entry_rank

    from resolved_events
    where step_index = 1

),

entries as (

    select
        entry_candidates.event_date as date,
        entry_candidates.person_id,
        coalesce(entry_candidates.platform, '(none)') as platform,
        coalesce(entry_candidates.channel, '(none)') as channel,
        entry_candidates.event_time as entered_at,
        {{ dbt.dateadd('hour', window_hours, 'entry_candidates.event_time') }} as window_ends_at

    from entry_candidates
    cross join last_complete
    where entry_candidates.entry_rank = 1
        and entry_candidates.event_date <= last_complete.last_complete_date

),

step_times as (

    select distinct
        step_index,
        event_date,
        person_id,
        event_time

    from resolved_events
    where step_index > 1

),

day_offsets as (

    select 0 as day_offset
    {%- for day_offset in range(1, max_day_offset + 1) %}

    union all

    select {{ day_offset }}
    {%- endfor %}

),

reached_1 as (

    select
        date,
        person_id,
        platform,
        channel,
        entered_at,
        window_ends_at,
        entered_at as reached_at

    from entries

),
{%- for step in steps[1:] %}
{%- set step_index = loop.index + 1 %}

candidate_days_{{ step_index }} as (

    -- the dates on which step {{ step_index }} can still fall
    select
        previous.*,
        {{ add_days('previous.date', 'day_offsets.day_offset') }} as step_date

    from reached_{{ step_index - 1 }} as previous
    cross join day_offsets

),

reached_{{ step_index }} as (

    select
        candidates.date,
        candidates.person_id,
        candidates.platform,
        candidates.channel,
        candidates.entered_at,
        candidates.window_ends_at,
        min(step_times.event_time) as reached_at

    from candidate_days_{{ step_index }} as candidates
    inner join step_times
        on step_times.person_id = candidates.person_id
        and step_times.event_date = candidates.step_date
        and step_times.step_index = {{ step_index }}
        and step_times.event_time >= candidates.reached_at
        and step_times.event_time <= candidates.window_ends_at
    group by
        candidates.date,
        candidates.person_id,
        candidates.platform,
        candidates.channel,
        candidates.entered_at,
        candidates.window_ends_at

),
{%- endfor %}

persons_by_step as (
    {%- for step in steps %}

    select
        date,
        platform,
        channel,
        {{ loop.index }} as step_index,
        count(*) as persons

    from reached_{{ loop.index }}
    group by date, platform, channel
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

configured_steps as (
    {%- for step in steps %}

    select
        {{ loop.index }} as step_index,
        cast('{{ step.name | replace("'", "''") }}' as {{ dbt.type_string() }}) as step_name
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

slice_steps as (

    -- every step of every slice that has entrants
    select
        entry_slices.date,
        entry_slices.platform,
        entry_slices.channel,
        configured_steps.step_index,
        configured_steps.step_name

    from persons_by_step as entry_slices
    cross join configured_steps
    where entry_slices.step_index = 1

),

counted as (

    select
        slice_steps.date,
        slice_steps.platform,
        slice_steps.channel,
        slice_steps.step_index,
        slice_steps.step_name,
        cast(coalesce(persons_by_step.persons, 0) as bigint) as persons

    from slice_steps
    left join persons_by_step
        on slice_steps.date = persons_by_step.date
        and slice_steps.platform = persons_by_step.platform
        and slice_steps.channel = persons_by_step.channel
        and slice_steps.step_index = persons_by_step.step_index

),

final as (

    select
        date,
        platform,
        channel,
        step_index,
        step_name,
        persons,
        {{ safe_divide(
            'persons',
            'lag(persons) over (partition by date, platform, channel order by step_index)'
        ) }} as conversion_from_previous,
        {{ safe_divide(
            'persons',
            'max(case when step_index = 1 then persons end) over (partition by date, platform, channel)'
        ) }} as conversion_from_first

    from counted

)

select * from final
