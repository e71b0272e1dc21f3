{#
    RFM segments of every buyer as of the last complete date A (docs/metrics.md
    rfm_segments), over the orders paid on or before A, net of the refunds
    made on or before A. Scores are quintiles (NTILE(5), ties broken by
    user_id so that reruns agree); recency is reversed: the most recent
    buyers score 5.
#}

with

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

reporting_dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

as_of as (

    select max(date) as as_of_date
    from reporting_dates

),

paid_orders as (

    select
        orders.user_id,
        orders.paid_date,
        orders.amount,
        case
            when orders.refunded_date <= as_of.as_of_date then coalesce(orders.refund_amount, 0)
            else 0
        end as refund_amount,
        as_of.as_of_date

    from orders
    inner join as_of
        on orders.paid_date <= as_of.as_of_date

),

buyers as (

    select
        user_id,
        max(as_of_date) as as_of_date,
        max(paid_date) as last_paid_date,
        count(*) as frequency,
        sum(amount) - sum(refund_amount) as monetary

    from paid_orders
    group by user_id

),

recency as (

    select
        *,
        {{ dbt.datediff(
            'last_paid_date', 'as_of_date', 'day'
        ) }} as recency_days

    from buyers

),

scored as (

    select
        *,
        ntile(5) over (
            order by recency_days desc, user_id asc
        ) as r_score,
        ntile(5) over (
            order by frequency, user_id
        ) as f_score,
        -- monetary to the millionth: the last bits of a float sum depend on the order of addition
        ntile(5) over (
            order by {{ round_double('monetary', 6) }}, user_id
        ) as m_score

    from recency

),

final as (

    select
        user_id,
        as_of_date,
        last_paid_date,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        case
            when r_score >= 4 and f_score >= 4 then 'champions'
            when f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score <= 2 then 'potential'
            when r_score <= 2 and f_score >= 3 then 'at_risk'
            when r_score <= 2 then 'hibernating'
            else 'regular'
        end as segment

    from scored

)

select * from final
