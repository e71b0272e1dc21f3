{#
    New users per business date and slice: the company total from kpi_daily
    (a row for every reporting date; the users source, or the first register
    events where that source is empty) and by channel and region of the
    registrations (rows only where someone registered).
#}

with

kpi as (

    select * from {{ ref('kpi_daily') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

company as (

    select
        date,
        'all' as dimension,
        'all' as dimension_value,
        new_users

    from kpi

),

slices as (
    {%- for dimension in ['channel', 'region'] %}

    select
        registered_date as date,
        '{{ dimension }}' as dimension,
        coalesce({{ dimension }}, '(none)') as dimension_value,
        count(*) as new_users

    from users
    group by registered_date, coalesce({{ dimension }}, '(none)')
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

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
        cast(new_users as {{ type_double() }}) as new_users

    from company_and_slices

)

select * from final
