with

source as (

    select * from {{ source('raw', 'channel_spend') }}

),

renamed as (

    select
        {{ adapter.quote("date") }} as spend_date,
        channel,
        campaign_id,
        campaign_name,
        impressions,
        clicks,
        spend,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- a later delivery restates the day of a campaign
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['spend_date', 'channel', 'campaign_id'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        spend_date,
        channel,
        campaign_id,
        campaign_name,
        impressions,
        clicks,
        spend,
        landing_date

    from versioned

)

select * from final
