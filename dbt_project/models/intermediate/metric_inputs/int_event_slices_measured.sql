{#
    Tracked events per business date and slice: for the company, by
    platform ('(none)' without one) and by event_name; rows where events
    were tracked.
#}

{%- set event_dimensions = {'all': "'all'", 'platform': "coalesce(platform, '(none)')", 'event_name': 'event_name'} %}

with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

slices as (
    {%- for dimension, expression in event_dimensions.items() %}

    select
        event_date as date,
        '{{ dimension }}' as dimension,
        {{ expression }} as dimension_value,
        count(*) as events

    from events
    group by event_date{% if dimension != 'all' %}, {{ expression }}{% endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        date,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(dimension_value as {{ dbt.type_string() }}) as dimension_value,
        cast(events as {{ type_double() }}) as events

    from slices

)

select * from final
