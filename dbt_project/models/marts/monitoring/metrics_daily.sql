{#
    The long table monitoring reads (metrics.md metrics_daily, alerts.md):
    one row per business date x metric x dimension x dimension_value, with
    dimension = dimension_value = 'all' for the company total. value is the
    metric; numerator and denominator are set for ratios (value =
    numerator / denominator, NULL when the denominator is 0) and NULL for
    counts and sums. Totals have a row for every date of kpi_daily; slices
    only where something happened. Dates stop at kpi_daily's (first landing
    day to last complete date).

    Metrics (dimensions):
      dau                        all, platform, channel, region (persons active in the slice; one active on two platforms counts in both)
      new_users                  all, channel, region (registrations)
      orders, gmv, paid_orders, paid_gmv, refund_amount, net_revenue
                                 all, channel, platform, region (revenue_daily)
      paying_users               all, channel, platform, region (distinct per slice)
      pay_rate, arpu             all, channel, platform, region (paying users / paid GMV of the orders' slice over the DAU of the events' slice)
      aov                        all, channel, platform, region
      funnel_<step_name>_conversion
                                 all, platform, channel: persons at the step / at the previous step, for every configured step after the first
      visit_to_pay               all, platform, channel: persons at the last step / at step 1
      spend, ctr, cac, roas      all, channel (channel_daily; all = blended over every channel, organic users and orders included)
      events                     all, platform, event_name (stg_tracking__events)
      tracking_completeness      all, platform: tracked pay_success events / backend orders paid that day (platform: orders that have one)
#}

{%- set steps = funnel_steps() %}
{%- set revenue_sums = ['orders', 'gmv', 'paid_orders', 'paid_gmv', 'refund_amount', 'net_revenue'] %}
{%- set order_dimensions = ['channel', 'platform', 'region'] %}
{%- set funnel_dimensions = {'all': "'all'", 'platform': 'platform', 'channel': 'channel'} %}

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

users as (

    select * from {{ ref('stg_backend__users') }}

),

device_slices as (

    select * from {{ ref('int_device_day_slices_aggregated') }}

),

device_users as (

    select * from {{ ref('int_device_users') }}

),

events as (

    select * from {{ ref('stg_tracking__events') }}

),

funnel as (

    select * from {{ ref('funnel_daily') }}

),

channels as (

    select * from {{ ref('channel_daily') }}

),

-- company totals ------------------------------------------------------------

total_counts as (
    {%- for metric in ['dau', 'new_users'] + revenue_sums + ['paying_users'] %}

    select
        date,
        '{{ metric }}' as metric,
        'all' as dimension,
        'all' as dimension_value,
        cast({{ metric }} as double precision) as value,
        cast(null as double precision) as numerator,
        cast(null as double precision) as denominator

    from kpi
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

total_ratios as (
    {%- for metric, numerator, denominator in [
        ('pay_rate', 'paying_users', 'dau'),
        ('arpu', 'paid_gmv', 'dau'),
        ('aov', 'paid_gmv', 'paid_orders'),
        ('visit_to_pay', 'funnel_completers', 'funnel_entrants'),
    ] %}

    select
        date,
        '{{ metric }}' as metric,
        'all' as dimension,
        'all' as dimension_value,
        {{ safe_divide(numerator, denominator) }} as value,
        cast({{ numerator }} as double precision) as numerator,
        cast({{ denominator }} as double precision) as denominator

    from kpi
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

-- slices by channel, platform and region --------------------------------------

revenue_by_dimension as (
    {%- for dimension in order_dimensions %}

    select
        date,
        '{{ dimension }}' as dimension,
        {{ dimension }} as dimension_value,
        {%- for measure in revenue_sums %}
        sum({{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}

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

    -- metrics.md Identity, as in int_person_days_stitched
    select
        device_slices.event_date,
        coalesce(
            device_slices.user_id,
            device_users.user_id,
            'd:' || device_slices.device_id
        ) as person_id,
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

new_users_by_dimension as (
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

slice_keys as (

    select date, dimension, dimension_value from revenue_by_dimension
    union
    select date, dimension, dimension_value from paying_users_by_dimension
    union
    select date, dimension, dimension_value from dau_by_dimension

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
        {%- for measure in revenue_sums %}
        revenue_by_dimension.{{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}

    from slice_keys
    left join revenue_by_dimension
        on {{ same_slice('slice_keys', 'revenue_by_dimension') }}
    left join paying_users_by_dimension
        on {{ same_slice('slice_keys', 'paying_users_by_dimension') }}
    left join dau_by_dimension
        on {{ same_slice('slice_keys', 'dau_by_dimension') }}

),

slice_counts as (
    {%- for metric in ['dau', 'paying_users'] + revenue_sums %}

    select
        date,
        '{{ metric }}' as metric,
        dimension,
        dimension_value,
        cast({{ metric }} as double precision) as value,
        cast(null as double precision) as numerator,
        cast(null as double precision) as denominator

    from slices
    where {{ metric }} is not null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

    union all

    select
        date,
        'new_users' as metric,
        dimension,
        dimension_value,
        cast(new_users as double precision) as value,
        cast(null as double precision) as numerator,
        cast(null as double precision) as denominator

    from new_users_by_dimension

),

slice_ratios as (
    {%- for metric, numerator, denominator in [
        ('pay_rate', 'paying_users', 'dau'),
        ('arpu', 'paid_gmv', 'dau'),
        ('aov', 'paid_gmv', 'paid_orders'),
    ] %}

    select
        date,
        '{{ metric }}' as metric,
        dimension,
        dimension_value,
        {{ safe_divide('coalesce(' ~ numerator ~ ', 0)', 'coalesce(' ~ denominator ~ ', 0)') }} as value,
        cast(coalesce({{ numerator }}, 0) as double precision) as numerator,
        cast(coalesce({{ denominator }}, 0) as double precision) as denominator

    from slices
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

-- funnel ----------------------------------------------------------------------

funnel_persons as (
    {%- for dimension, expression in funnel_dimensions.items() %}

    select
        date,
        '{{ dimension }}' as dimension,
        {{ expression }} as dimension_value,
        step_index,
        step_name,
        sum(persons) as persons

    from funnel
    group by date, {% if dimension != 'all' %}{{ expression }}, {% endif %}step_index, step_name
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

funnel_ratios as (

    -- each step after the first over the step before it
    select
        step.date,
        'funnel_' || step.step_name || '_conversion' as metric,
        step.dimension,
        step.dimension_value,
        {{ safe_divide('step.persons', 'previous_step.persons') }} as value,
        cast(step.persons as double precision) as numerator,
        cast(previous_step.persons as double precision) as denominator

    from funnel_persons as step
    inner join funnel_persons as previous_step
        on {{ same_slice('step', 'previous_step') }}
        and step.step_index = previous_step.step_index + 1

    union all

    -- the last step over the first (the 'all' total comes from kpi_daily)
    select
        last_step.date,
        'visit_to_pay' as metric,
        last_step.dimension,
        last_step.dimension_value,
        {{ safe_divide('last_step.persons', 'first_step.persons') }} as value,
        cast(last_step.persons as double precision) as numerator,
        cast(first_step.persons as double precision) as denominator

    from funnel_persons as last_step
    inner join funnel_persons as first_step
        on {{ same_slice('last_step', 'first_step') }}
        and first_step.step_index = 1
    where last_step.step_index = {{ steps | length }}
        and last_step.dimension <> 'all'

),

-- paid acquisition ------------------------------------------------------------

channel_totals as (

    select
        date,
        'channel' as dimension,
        channel as dimension_value,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(new_users) as new_users,
        sum(paid_gmv) as paid_gmv

    from channels
    group by date, channel

    union all

    select
        date,
        'all' as dimension,
        'all' as dimension_value,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(new_users) as new_users,
        sum(paid_gmv) as paid_gmv

    from channels
    group by date

),

channel_metrics as (

    select
        date,
        'spend' as metric,
        dimension,
        dimension_value,
        cast(spend as double precision) as value,
        cast(null as double precision) as numerator,
        cast(null as double precision) as denominator

    from channel_totals
    {%- for metric, numerator, denominator in [
        ('ctr', 'clicks', 'impressions'),
        ('cac', 'spend', 'new_users'),
        ('roas', 'paid_gmv', 'spend'),
    ] %}

    union all

    select
        date,
        '{{ metric }}' as metric,
        dimension,
        dimension_value,
        {{ safe_divide(numerator, denominator) }} as value,
        cast({{ numerator }} as double precision) as numerator,
        cast({{ denominator }} as double precision) as denominator

    from channel_totals
    {%- endfor %}

),

-- tracking --------------------------------------------------------------------

event_volumes as (
    {%- for dimension, expression in {'all': "'all'", 'platform': "coalesce(platform, '(none)')", 'event_name': 'event_name'}.items() %}

    select
        event_date as date,
        'events' as metric,
        '{{ dimension }}' as dimension,
        {{ expression }} as dimension_value,
        cast(count(*) as double precision) as value,
        cast(null as double precision) as numerator,
        cast(null as double precision) as denominator

    from events
    group by event_date{% if dimension != 'all' %}, {{ expression }}{% endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

tracked_payments as (

    select
        event_date as date,
        'all' as dimension,
        'all' as dimension_value,
        count(*) as tracked_payments

    from events
    where event_name = 'pay_success'
    group by event_date

    union all

    select
        event_date as date,
        'platform' as dimension,
        coalesce(platform, '(none)') as dimension_value,
        count(*) as tracked_payments

    from events
    where event_name = 'pay_success'
    group by event_date, coalesce(platform, '(none)')

),

backend_payments as (

    select
        paid_date as date,
        'all' as dimension,
        'all' as dimension_value,
        count(*) as paid_orders

    from orders
    where paid_date is not null
    group by paid_date

    union all

    select
        paid_date as date,
        'platform' as dimension,
        platform as dimension_value,
        count(*) as paid_orders

    from orders
    where paid_date is not null
        and platform is not null
    group by paid_date, platform

),

payment_keys as (

    select date, dimension, dimension_value from tracked_payments
    union
    select date, dimension, dimension_value from backend_payments

),

tracking_completeness as (

    select
        payment_keys.date,
        'tracking_completeness' as metric,
        payment_keys.dimension,
        payment_keys.dimension_value,
        {{ safe_divide('coalesce(tracked_payments.tracked_payments, 0)', 'coalesce(backend_payments.paid_orders, 0)') }} as value,
        cast(coalesce(tracked_payments.tracked_payments, 0) as double precision) as numerator,
        cast(coalesce(backend_payments.paid_orders, 0) as double precision) as denominator

    from payment_keys
    left join tracked_payments
        on {{ same_slice('payment_keys', 'tracked_payments') }}
    left join backend_payments
        on {{ same_slice('payment_keys', 'backend_payments') }}

),

all_metrics as (

    select * from total_counts
    union all
    select * from total_ratios
    union all
    select * from slice_counts
    union all
    select * from slice_ratios
    union all
    select * from funnel_ratios
    union all
    select * from channel_metrics
    union all
    select * from event_volumes
    union all
    select * from tracking_completeness

),

final as (

    -- the reporting dates only: kpi_daily has one row per date
    select
        all_metrics.date,
        cast(all_metrics.metric as {{ dbt.type_string() }}) as metric,
        cast(all_metrics.dimension as {{ dbt.type_string() }}) as dimension,
        cast(all_metrics.dimension_value as {{ dbt.type_string() }}) as dimension_value,
        all_metrics.value,
        all_metrics.numerator,
        all_metrics.denominator

    from all_metrics
    inner join kpi
        on all_metrics.date = kpi.date

)

select * from final
