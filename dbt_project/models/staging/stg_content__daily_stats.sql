with

source as (

    select * from {{ source('raw', 'content') }}

),

renamed as (

    select
        {{ adapter.quote("date") }} as stat_date,
        content_id,
        platform,
        title,
        {{ adapter.quote("format") }} as content_format,
        published_at,
        exposures,
        clicks,
        reads,
        dwell_seconds_total,
        likes,
        comments,
        shares,
        new_followers,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- a later delivery restates the day of an item
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['stat_date', 'content_id', 'platform'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        stat_date,
        content_id,
        platform,
        title,
        content_format,
        published_at,
        exposures,
        clicks,
        reads,
        dwell_seconds_total,
        likes,
        comments,
        shares,
        new_followers,
        landing_date

    from versioned

)

select * from final
