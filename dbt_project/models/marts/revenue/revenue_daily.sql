{#
    Revenue per business date x channel x platform x region (docs/metrics.md
    revenue_daily). Each measure counts on its own date: orders and gmv on the
    created date, paid_* and paying_users on the paid date, refund_amount on
    the refunded date, so a refund on a later day lowers that later day.
#}

with

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

sliced_orders as (

    select
        order_id,
        user_id,
        amount,
        coalesce(refund_amount, 0) as refund_amount,
        created_date,
        paid_date,
        refunded_date,
        coalesce(channel, '(none)') as channel,
        coalesce(platform, '(none)') as platform,
        coalesce(region, '(none)') as region

    from orders

),

order_facts as (

    -- one row per order and measure date: created, paid, refunded
    select
        created_date as date,
        channel,
        platform,
        region,
        1 as orders,
        amount as gmv,
        0 as paid_orders,
        0.0 as paid_gmv,
        0.0 as refund_amount,
        cast(null as {{ dbt.type_string() }}) as paying_user_id

    from sliced_orders

    union all

    select
        paid_date as date,
        channel,
        platform,
        region,
        0 as orders,
        0.0 as gmv,
        1 as paid_orders,
        amount as paid_gmv,
        0.0 as refund_amount,
        user_id as paying_user_id

    from sliced_orders
    where paid_date is not null

    union all

    select
        refunded_date as date,
        channel,
        platform,
        region,
        0 as orders,
        0.0 as gmv,
        0 as paid_orders,
        0.0 as paid_gmv,
        refund_amount,
        cast(null as {{ dbt.type_string() }}) as paying_user_id

    from sliced_orders
    where refunded_date is not null

),

final as (

    select
        date,
        channel,
        platform,
        region,
        cast(sum(orders) as bigint) as orders,
        sum(gmv) as gmv,
        cast(sum(paid_orders) as bigint) as paid_orders,
        sum(paid_gmv) as paid_gmv,
        sum(refund_amount) as refund_amount,
        sum(paid_gmv) - sum(refund_amount) as net_revenue,
        count(distinct paying_user_id) as paying_users

    from order_facts
    group by date, channel, platform, region

)

select * from final
