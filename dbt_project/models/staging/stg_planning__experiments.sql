with

source as (

    select * from {{ source('raw', 'experiments') }}

),

renamed as (

    select
        experiment_id,
        name,
        start_at,
        end_at,
        variants,
        weights,
        coalesce(primary_metric, 'pay_conversion') as primary_metric,
        _landing_date as landing_date,
        _file as landing_file,
        _row_number as landing_row_number

    from source

),

-- the latest landing day wins per experiment
versioned as (

    {{ deduplicate(
        'renamed',
        partition_by=['experiment_id'],
        order_by=['landing_date desc', 'landing_file desc', 'landing_row_number desc']
    ) }}

),

final as (

    select
        experiment_id,
        name,
        start_at,
        end_at,
        variants,
        weights,
        primary_metric,
        landing_date

    from versioned

)

select * from final
