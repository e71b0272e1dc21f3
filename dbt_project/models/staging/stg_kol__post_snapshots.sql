with

source as (

    select * from {{ source('raw', 'kol_posts') }}

),

renamed as (

    select
        post_id,
        _landing_date as snapshot_date,
        kol_id,
        kol_name,
        platform,
        followers,
        published_at,
        views,
        likes,
        comments,
        shares,
        fee,
        campaign_id,
        audience_match,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- one snapshot per post and landing day: the last delivered row wins
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['post_id', 'snapshot_date'],
        order_by=['landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        post_id,
        snapshot_date,
        kol_id,
        kol_name,
        platform,
        followers,
        published_at,
        {{ business_date('published_at') }} as published_date,
        views,
        likes,
        comments,
        shares,
        fee,
        campaign_id,
        audience_match

    from versioned

)

select * from final
