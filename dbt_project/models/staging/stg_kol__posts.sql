with

snapshots as (

    select * from {{ ref('stg_kol__post_snapshots') }}

),

ranked as (

    -- counters are cumulative: the latest snapshot is the post
    select
        *,
        row_number() over (
            partition by post_id
            order by snapshot_date desc
        ) as snapshot_rank

    from snapshots

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

    from ranked
    where snapshot_rank = 1

)

select * from final
