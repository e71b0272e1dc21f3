{#
    The measures of users and money per business date and slice: dau,
    paying_users and the order sums, for the company ('all', from kpi_daily:
    a row for every reporting date) and by channel, platform and region
    (rows only where the slice had orders or active persons).

    In a slice, dau counts the persons active with the slice's value on their
    events (one person active on two platforms counts in both), the order
    measures come from the orders of the slice, and paying_users is set
    wherever the slice had orders (0 when none of them was paid that day).
#}

{%- set order_dimensions = ['channel', 'platform', 'region'] %}
{%- set order_measures = ['orders', 'gmv', 'paid_orders', 'paid_gmv', 'refund_amount', 'net_revenue'] %}

with

kpi as (

    select * from {{ ref('kpi_daily') }}

),

revenue as (

    select * from {{ ref('revenue_daily') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

device_slices as (

    select * from {{ ref('int_device_day_slices_aggregated') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

revenue_by_dimension as (
    {%- for dimension in order_dimensions %}

    select
        date,
        '{{ dimension }}' as dimension,
        {{ dimension }} as dimension_value,
        {%- for measure in order_measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}{% endfor %}

    from revenue
    group by date, {{ dimension }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

paying_users_by_dimension as (
    {%- for dimension in order_dimensions %}

    select
        paid_date as date,
        '{{ dimension }}' as dimension,
        coalesce({{ dimension }}, '(none)') as dimension_value,
        count(distinct user_id) as paying_users

    from orders
    where paid_date is not null
    group by paid_date, coalesce({{ dimension }}, '(none)')
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

person_slices as (

    select
        device_slices.event_date,
        {{ person_id('device_slices.user_id', 'device_users.user_id', 'device_slices.device_id') }} as person_id,
        device_slices.platform,
        device_slices.channel,
        device_slices.region

    from device_slices
    left join device_users
        on device_slices.device_id = device_users.device_id

),

dau_by_dimension as (
    {%- for dimension in order_dimensions %}

    select
        event_date as date,
        '{{ dimension }}' as dimension,
        coalesce({{ dimension }}, '(none)') as dimension_value,
        count(distinct person_id) as dau

    from person_slices
    group by event_date, coalesce({{ dimension }}, '(none)')
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

slice_keys as (

    select
        date,
        dimension,
        dimension_value

    from revenue_by_dimension

    union

    select
        date,
        dimension,
        dimension_value

    from paying_users_by_dimension

    union

    select
        date,
        dimension,
        dimension_value

    from dau_by_dimension

),

slices as (

    select
        slice_keys.date,
        slice_keys.dimension,
        slice_keys.dimension_value,
        dau_by_dimension.dau,
        -- a slice with orders but no payment that day has 0 paying users
        case
            when revenue_by_dimension.date is not null then coalesce(paying_users_by_dimension.paying_users, 0)
        end as paying_users,
        {%- for measure in order_measures %}
        revenue_by_dimension.{{ measure }}{% if not loop.last %},{% endif %}{% endfor %}

    from slice_keys
    left join revenue_by_dimension
        on {{ same_slice('slice_keys', 'revenue_by_dimension') }}
    left join paying_users_by_dimension
        on {{ same_slice('slice_keys', 'paying_users_by_dimension') }}
    left join dau_by_dimension
        on {{ same_slice('slice_keys', 'dau_by_dimension') }}

),

company as (

    select
        date,
        'all' as dimension,
        'all' as dimension_value,
        dau,
        paying_users,
        {%- for measure in order_measures %}
        {{ measure }}{% if not loop.last %},{% endif %}{% endfor %}

    from kpi

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
        cast(dau as {{ type_double() }}) as dau,
        cast(paying_users as {{ type_double() }}) as paying_users,
        {%- for measure in order_measures %}
        cast({{ measure }} as {{ type_double() }}) as {{ measure }}{% if not loop.last %},{% endif %}{% endfor %}

    from company_and_slices

)

select * from final
