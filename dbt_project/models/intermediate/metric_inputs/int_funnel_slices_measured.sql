{#
    The funnel per business date and slice (all, platform, channel): the
    persons who reached each configured step (persons_<step name>, from
    funnel_daily; NULL where the slice had no entrant that day), and the
    entrants and completers (persons at the first and at the last step). The
    company's entrants and completers come from kpi_daily, so they have a
    row, 0 when nobody entered, for every reporting date.
#}

{%- set steps = funnel_steps() %}
{%- set funnel_dimensions = {'all': "'all'", 'platform': 'platform', 'channel': 'channel'} %}

with

kpi as (

    select * from {{ ref('kpi_daily') }}

),

funnel as (

    select * from {{ ref('funnel_daily') }}

),

persons_by_step as (
    {%- for dimension, expression in funnel_dimensions.items() %}

    select
        date,
        '{{ dimension }}' as dimension,
        {{ expression }} as dimension_value,
        {%- for step in steps %}
        sum(case when step_index = {{ loop.index }} then persons end)
            as persons_{{ step.name }}{% if not loop.last %},{% endif %}{% endfor %}

    from funnel
    group by date{% if dimension != 'all' %}, {{ expression }}{% endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

company as (

    select
        kpi.date,
        'all' as dimension,
        'all' as dimension_value,
        {%- for step in steps %}
        persons_by_step.persons_{{ step.name }},
        {%- endfor %}
        kpi.funnel_entrants,
        kpi.funnel_completers

    from kpi
    left join persons_by_step
        on kpi.date = persons_by_step.date
        and persons_by_step.dimension = 'all'

),

slices as (

    select
        date,
        dimension,
        dimension_value,
        {%- for step in steps %}
        persons_{{ step.name }},
        {%- endfor %}
        persons_{{ steps[0].name }} as funnel_entrants,
        persons_{{ steps[-1].name }} as funnel_completers

    from persons_by_step
    where dimension <> 'all'

),

company_and_slices as (

    select * from company
    union all
    select * from slices

),

final as (

    select
        date,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(dimension_value as {{ dbt.type_string() }}) as dimension_value,
        {%- for step in steps %}
        cast(persons_{{ step.name }} as {{ type_double() }}) as persons_{{ step.name }},
        {%- endfor %}
        cast(funnel_entrants as {{ type_double() }}) as funnel_entrants,
        cast(funnel_completers as {{ type_double() }}) as funnel_completers

    from company_and_slices

)

select * from final
