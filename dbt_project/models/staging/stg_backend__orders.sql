{{ config(materialized='table') }}

with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        order_id,
        user_id,
        status,
        amount,
        coalesce(currency, 'CNY') as currency,
        refund_amount,
        created_at,
        updated_at,
        paid_at,
        refunded_at,
        channel,
        campaign_id,
        platform,
        region,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- status changes arrive as new rows: the latest updated_at is the order
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['order_id'],
        order_by=['updated_at desc', 'landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        order_id,
        user_id,
        status,
        amount,
        currency,
        refund_amount,
        created_at,
        updated_at,
        paid_at,
        refunded_at,
        {{ business_date('created_at') }} as created_date,
        {{ business_date('paid_at') }} as paid_date,
        {{ business_date('refunded_at') }} as refunded_date,
        channel,
        campaign_id,
        platform,
        region,
        landing_date

    from versioned

)

select * from final
