with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

renamed as (

    select
        campaign_id,
        name,
        coalesce(type, 'other') as campaign_type,
        start_at,
        end_at,
        budget,
        cost,
        target_metric,
        target_value,
        channels,
        platforms,
        regions,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- every delivery is a snapshot of the plan: the latest landing day wins per campaign
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['campaign_id'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        campaign_id,
        name,
        campaign_type,
        start_at,
        end_at,
        {{ business_date('start_at') }} as start_date,
        -- end_at is the instant the campaign stops: one ending at midnight ends the day before
        {{ business_date('(' ~ dbt.dateadd('second', -1, 'end_at') ~ ')') }} as end_date,
        budget,
        cost,
        target_metric,
        target_value,
        channels,
        platforms,
        regions,
        landing_date

    from versioned

)

select * from final
