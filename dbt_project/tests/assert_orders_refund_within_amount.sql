-- The contract: 0 <= refund_amount <= amount, and a refund has its timestamp.
with

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

final as (

    select *
    from orders
    where refund_amount < 0
        or refund_amount > amount
        or (status = 'refunded' and refunded_at is null)

)

select * from final
