-- Within a funnel slice (date x platform x channel), a later step never has
-- more persons than the step before it: reaching step k needs step k - 1.
with

funnel as (

    select * from {{ ref('funnel_daily') }}

),

steps as (

    select
        date,
        platform,
        channel,
        step_index,
        persons,
        lag(persons) over (
            partition by date, platform, channel
            order by step_index
        ) as previous_persons

    from funnel

),

final as (

    select *
    from steps
    where persons > previous_persons

)

select * from final
