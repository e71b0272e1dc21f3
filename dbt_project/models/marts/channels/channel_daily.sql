{#
    Paid acquisition per business date x channel x campaign_id (docs/metrics.md
    channel_daily): an outer join of spend, registrations and paid orders, so
    a campaign with new users or orders but no spend row still shows (with
    spend 0 and NULL cpc / cpm / cac / roas). Missing channel or campaign_id
    (organic users and orders) become '(none)'.
#}

with

spend as (

    select * from {{ ref('stg_ads__channel_spend') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

channel_facts as (

    select
        spend_date as date,
        channel,
        campaign_id,
        impressions,
        clicks,
        spend,
        0 as new_users,
        0 as paid_orders,
        0.0 as paid_gmv

    from spend

    union all

    select
        registered_date as date,
        coalesce(channel, '(none)') as channel,
        coalesce(campaign_id, '(none)') as campaign_id,
        0 as impressions,
        0 as clicks,
        0.0 as spend,
        1 as new_users,
        0 as paid_orders,
        0.0 as paid_gmv

    from users

    union all

    select
        paid_date as date,
        coalesce(channel, '(none)') as channel,
        coalesce(campaign_id, '(none)') as campaign_id,
        0 as impressions,
        0 as clicks,
        0.0 as spend,
        0 as new_users,
        1 as paid_orders,
        amount as paid_gmv

    from orders
    where paid_date is not null

),

totals as (

    select
        date,
        channel,
        campaign_id,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        sum(spend) as spend,
        cast(sum(new_users) as bigint) as new_users,
        cast(sum(paid_orders) as bigint) as paid_orders,
        sum(paid_gmv) as paid_gmv

    from channel_facts
    group by date, channel, campaign_id

),

final as (

    select
        date,
        channel,
        campaign_id,
        impressions,
        clicks,
        spend,
        {{ safe_divide('clicks', 'impressions') }} as ctr,
        {{ safe_divide('spend', 'clicks') }} as cpc,
        {{ safe_divide('spend', 'impressions') }} * 1000 as cpm,
        new_users,
        {{ safe_divide('spend', 'new_users') }} as cac,
        paid_orders,
        paid_gmv,
        {{ safe_divide('paid_gmv', 'spend') }} as roas

    from totals

)

select * from final
