{#
    Payments seen by tracking and by the backend per business date and slice
    (all, platform): tracked pay_success events, and backend orders paid
    that day (by platform: the orders that have one). A row wherever either
    side has payments; the other side is 0 there.
#}

with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

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

    select
        date,
        dimension,
        dimension_value

    from tracked_payments

    union

    select
        date,
        dimension,
        dimension_value

    from backend_payments

),

final as (

    select
        payment_keys.date,
        cast(payment_keys.dimension as {{ dbt.type_string() }}) as dimension,
        cast(payment_keys.dimension_value as {{ dbt.type_string() }}) as dimension_value,
        cast(coalesce(tracked_payments.tracked_payments, 0) as {{ type_double() }}) as tracked_payments,
        cast(coalesce(backend_payments.paid_orders, 0) as {{ type_double() }}) as backend_paid_orders

    from payment_keys
    left join tracked_payments
        on {{ same_slice('payment_keys', 'tracked_payments') }}
    left join backend_payments
        on {{ same_slice('payment_keys', 'backend_payments') }}

)

select * from final
