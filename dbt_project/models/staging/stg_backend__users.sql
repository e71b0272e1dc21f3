{{ config(materialized='table') }}

with

source as (

    select * from {{ source('raw', 'users') }}

),

renamed as (

    select
        user_id,
        registered_at,
        channel,
        campaign_id,
        region,
        -- ingestion already replaced phone and email by salted sha256 hashes
        phone as phone_hash,
        email as email_hash,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- a user delivered again: the latest delivery wins
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['user_id'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        user_id,
        registered_at,
        {{ business_date('registered_at') }} as registered_date,
        channel,
        campaign_id,
        region,
        phone_hash,
        email_hash,
        landing_date

    from versioned

)

select * from final
