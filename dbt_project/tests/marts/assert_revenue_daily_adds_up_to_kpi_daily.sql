-- The slices of revenue_daily add up to kpi_daily's totals on every date of
-- kpi_daily (money compared to a cent's millionth, floating point sums).
-- In Dagster, a check of kpi_daily, which takes its order totals from revenue_daily.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_daily'}}}) }}

with

revenue as (

    select * from {{ ref('revenue_daily') }}

),

kpi as (

    select * from {{ ref('kpi_daily') }}

),

revenue_by_date as (

    select
        date,
        sum(orders) as orders,
        sum(gmv) as gmv,
        sum(paid_orders) as paid_orders,
        sum(paid_gmv) as paid_gmv,
        sum(refund_amount) as refund_amount

    from revenue
    group by date

),

compared as (

    select
        kpi.date,
        kpi.orders - coalesce(revenue_by_date.orders, 0) as orders_difference,
        kpi.gmv - coalesce(revenue_by_date.gmv, 0) as gmv_difference,
        kpi.paid_orders - coalesce(revenue_by_date.paid_orders, 0) as paid_orders_difference,
        kpi.paid_gmv - coalesce(revenue_by_date.paid_gmv, 0) as paid_gmv_difference,
        kpi.refund_amount - coalesce(revenue_by_date.refund_amount, 0) as refund_amount_difference

    from kpi
    left join revenue_by_date
        on kpi.date = revenue_by_date.date

),

final as (

    select *
    from compared
    where orders_difference <> 0
        or paid_orders_difference <> 0
        or abs(gmv_difference) > 0.000001
        or abs(paid_gmv_difference) > 0.000001
        or abs(refund_amount_difference) > 0.000001

)

select * from final
