{#
    Company KPIs per business date (docs/metrics.md, kpi_daily): one row for every
    date of activity_daily (first landing day to last complete date), with
    activity_daily's columns, the sums of revenue_daily over all slices, and
    the ratios. paying_users is counted again from the orders: a user paying
    in two slices on one day is one paying user.
#}

with

activity as (

    select * from {{ ref('activity_daily') }}

),

revenue as (

    select * from {{ ref('revenue_daily') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

funnel as (

    select * from {{ ref('funnel_daily') }}

),

revenue_by_date as (

    select
        date,
        sum(orders) as orders,
        sum(gmv) as gmv,
        sum(paid_orders) as paid_orders,
        sum(paid_gmv) as paid_gmv,
        sum(refund_amount) as refund_amount,
        sum(net_revenue) as net_revenue

    from revenue
    group by date

),

paid_orders as (

    select
        order_id,
        user_id,
        paid_date

    from orders
    where paid_date is not null

),

paying_users_by_date as (

    select
        paid_date as date,
        count(distinct user_id) as paying_users

    from paid_orders
    group by paid_date

),

buyer_orders_30d as (

    -- paid orders of each user in the 30 days [D-29, D]
    select
        activity.date,
        paid_orders.user_id,
        count(*) as paid_orders

    from activity
    inner join paid_orders
        on paid_orders.paid_date <= activity.date
        and paid_orders.paid_date >= {{ add_days('activity.date', -29) }}
    group by activity.date, paid_orders.user_id

),

repurchase_by_date as (

    select
        date,
        count(*) as buyers_30d,
        sum(case when paid_orders >= 2 then 1 else 0 end) as repeat_buyers_30d

    from buyer_orders_30d
    group by date

),

funnel_by_date as (

    -- entrants (step 1) and completers (last step), all slices
    select
        funnel.date,
        sum(case when funnel.step_index = 1 then funnel.persons else 0 end) as funnel_entrants,
        sum(case when funnel.step_index = {{ funnel_steps() | length }} then funnel.persons else 0 end)
            as funnel_completers

    from funnel
    group by funnel.date

),

combined as (

    select
        activity.date,
        activity.dau,
        activity.wau,
        activity.mau,
        activity.stickiness,
        activity.new_users,
        activity.new_visitors,
        cast(coalesce(revenue_by_date.orders, 0) as bigint) as orders,
        coalesce(revenue_by_date.gmv, 0) as gmv,
        cast(coalesce(revenue_by_date.paid_orders, 0) as bigint) as paid_orders,
        coalesce(revenue_by_date.paid_gmv, 0) as paid_gmv,
        coalesce(revenue_by_date.refund_amount, 0) as refund_amount,
        coalesce(revenue_by_date.net_revenue, 0) as net_revenue,
        cast(coalesce(paying_users_by_date.paying_users, 0) as bigint) as paying_users,
        cast(coalesce(repurchase_by_date.repeat_buyers_30d, 0) as bigint) as repeat_buyers_30d,
        cast(coalesce(repurchase_by_date.buyers_30d, 0) as bigint) as buyers_30d,
        cast(coalesce(funnel_by_date.funnel_entrants, 0) as bigint) as funnel_entrants,
        cast(coalesce(funnel_by_date.funnel_completers, 0) as bigint) as funnel_completers

    from activity
    left join revenue_by_date
        on activity.date = revenue_by_date.date
    left join paying_users_by_date
        on activity.date = paying_users_by_date.date
    left join repurchase_by_date
        on activity.date = repurchase_by_date.date
    left join funnel_by_date
        on activity.date = funnel_by_date.date

),

final as (

    select
        date,
        dau,
        wau,
        mau,
        stickiness,
        new_users,
        new_visitors,
        orders,
        gmv,
        paid_orders,
        paid_gmv,
        refund_amount,
        net_revenue,
        paying_users,
        {{ safe_divide('paying_users', 'dau') }} as pay_rate,
        {{ safe_divide('paid_gmv', 'dau') }} as arpu,
        {{ safe_divide('paid_gmv', 'paying_users') }} as arppu,
        {{ safe_divide('paid_gmv', 'paid_orders') }} as aov,
        repeat_buyers_30d,
        buyers_30d,
        {{ safe_divide('repeat_buyers_30d', 'buyers_30d') }} as repurchase_rate_30d,
        funnel_entrants,
        funnel_completers,
        {{ safe_divide('funnel_completers', 'funnel_entrants') }} as visit_to_pay_rate

    from combined

)

select * from final
