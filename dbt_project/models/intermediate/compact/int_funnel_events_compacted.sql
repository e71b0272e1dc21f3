{#
    The events of the configured funnel steps (var funnel_steps), compacted
    per business date x device x user_id as sent (null while anonymous):

    * step 1: only the first step-1 event of the group (a person enters at
      their first step-1 event of the day, so later ones never matter), with
      its id, platform and channel (the slice of the funnel row);
    * steps 2..k: every distinct event time (a step counts at the earliest
      time after the previous step, so any of them may matter).

    An event whose name is in several steps has a row for each. person_id is
    resolved in funnel_daily (see int_device_days_aggregated). Incremental
    like int_device_days_aggregated; after changing funnel_steps, run it with
    --full-refresh.
#}
{%- set steps = funnel_steps() %}

with

events as (

    select * from {{ ref('stg_tracking__events') }}
    where event_name in ({{ sql_string_list(steps | map(attribute='events') | sum(start=[]) | unique | list) }})
        and {{ in_run_window('event_date') }}

),

step_events as (

    {%- for step in steps %}

    select
        {{ loop.index }} as step_index,
        event_date,
        device_id,
        user_id,
        event_time,
        event_id,
        platform,
        channel

    from events
    where event_name in ({{ sql_string_list(step.events) }})
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

entry_candidates as (

    select
        *,
        row_number() over (
            partition by event_date, device_id, user_id
            order by event_time, event_id
        ) as entry_rank

    from step_events
    where step_index = 1

),

first_step_events as (

    select
        event_date,
        device_id,
        user_id,
        step_index,
        event_time,
        event_id,
        platform,
        channel

    from entry_candidates
    where entry_rank = 1

),

later_step_times as (

    select
        event_date,
        device_id,
        user_id,
        step_index,
        event_time,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as platform,
        cast(null as {{ dbt.type_string() }}) as channel

    from step_events
    where step_index > 1
    group by event_date, device_id, user_id, step_index, event_time

),

final as (

    select * from first_step_events
    union all
    select * from later_step_times

)

select * from final
