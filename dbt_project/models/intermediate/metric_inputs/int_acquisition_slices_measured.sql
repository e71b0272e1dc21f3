{#
    Paid acquisition per business date and slice: impressions, clicks and
    spend of the ad channels, and the new users and paid GMV that
    channel_daily attributes to a channel. By channel, and for the company
    ('all': blended over every channel, organic users and orders included);
    rows where channel_daily has one.
#}

with

channels as (

    select * from {{ ref('channel_daily') }}

),

slices as (

    select
        date,
        'channel' as dimension,
        channel as dimension_value,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(new_users) as new_users,
        sum(paid_gmv) as paid_gmv

    from channels
    group by date, channel

    union all

    select
        date,
        'all' as dimension,
        'all' as dimension_value,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(new_users) as new_users,
        sum(paid_gmv) as paid_gmv

    from channels
    group by date

),

final as (

    select
        date,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(dimension_value as {{ dbt.type_string() }}) as dimension_value,
        cast(impressions as {{ type_double() }}) as ad_impressions,
        cast(clicks as {{ type_double() }}) as ad_clicks,
        cast(spend as {{ type_double() }}) as ad_spend,
        cast(new_users as {{ type_double() }}) as channel_new_users,
        cast(paid_gmv as {{ type_double() }}) as channel_paid_gmv

    from slices

)

select * from final
