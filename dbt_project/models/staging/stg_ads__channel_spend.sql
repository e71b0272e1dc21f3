with

source as (

    select * from {{ source('raw', 'channel_spend') }}

),

renamed as (

    select
        "date" as spend_date,
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

versioned as (

    -- a later delivery restates the day of a campaign
    select
        *,
        row_number() over (
            partition by spend_date, channel, campaign_id
            order by landing_date desc, landing_file desc, landing_row_number desc
        ) as version_rank

    from renamed

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
    where version_rank = 1

)

select * from final
