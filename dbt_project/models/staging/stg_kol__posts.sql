with

snapshots as (

    select * from {{ ref('stg_kol__post_snapshots') }}

),

-- counters are cumulative: the latest snapshot is the post
latest_snapshots as (

    {{ deduplicate(
        'snapshots',
        partition_by=['post_id'],
        order_by=['snapshot_date desc']
    ) }}

),

final as (

    select
        post_id,
        kol_id,
        kol_name,
        platform,
        followers,
        published_at,
        published_date,
        views,
        likes,
        comments,
        shares,
        fee,
        campaign_id,
        audience_match,
        snapshot_date

    from latest_snapshots

)

select * from final
