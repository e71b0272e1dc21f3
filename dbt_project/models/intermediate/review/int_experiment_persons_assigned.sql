{#
    One row per experiment and person exposed to it (docs/review.md): the
    person's first experiment_exposure within [start_at, end_at] fixes the
    variant; variants_seen > 1 marks a person exposed to more than one
    variant (excluded from the results, and counted). Outcomes count the
    person's tracked events from the first exposure to end_at, up to the last
    complete date; revenue is the backend amount of the person's paid orders
    in that window (0 for a person who stayed anonymous).
#}
{{ config(materialized='table') }}


with

events as (

    select * from {{ ref('int_events_stitched') }}

),

experiments as (

    select * from {{ ref('stg_planning__experiments') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

reporting_dates as (

    select max(date) as last_complete_date from {{ ref('int_business_dates_spanned') }}

),

exposures as (

    select
        {{ json_text('events.properties', 'experiment_id') }} as experiment_id,
        {{ json_text('events.properties', 'variant') }} as variant,
        events.person_id,
        events.event_time

    from events
    where events.event_name = 'experiment_exposure'

),

exposures_in_window as (

    select exposures.*

    from exposures
    inner join experiments
        on exposures.experiment_id = experiments.experiment_id
    where
        exposures.event_time >= experiments.start_at
        and exposures.event_time <= experiments.end_at

),

first_exposures as (

    {{ deduplicate(
        'exposures_in_window',
        partition_by=['experiment_id', 'person_id'],
        order_by=['event_time', 'variant']
    ) }}

),

variants_seen as (

    select
        experiment_id,
        person_id,
        count(distinct variant) as variants_seen

    from exposures_in_window
    group by experiment_id, person_id

),

assigned as (

    select
        first_exposures.experiment_id,
        first_exposures.person_id,
        first_exposures.variant,
        first_exposures.event_time as first_exposed_at,
        variants_seen.variants_seen,
        experiments.end_at

    from first_exposures
    inner join variants_seen
        on
        first_exposures.experiment_id = variants_seen.experiment_id
        and first_exposures.person_id = variants_seen.person_id
    inner join experiments
        on first_exposures.experiment_id = experiments.experiment_id

),

outcome_events as (

    select
        events.person_id,
        events.event_name,
        events.event_time

    from events
    cross join reporting_dates
    where
        events.event_name in ('pay_success', 'order_submit', 'add_to_cart')
        and events.event_date <= reporting_dates.last_complete_date

),

outcomes as (

    select
        assigned.experiment_id,
        assigned.person_id,
        max(case when outcome_events.event_name = 'pay_success' then 1 else 0 end) as pay_conversion,
        max(case when outcome_events.event_name = 'order_submit' then 1 else 0 end) as order_conversion,
        max(case when outcome_events.event_name = 'add_to_cart' then 1 else 0 end) as add_to_cart_conversion

    from assigned
    left join outcome_events
        on
        assigned.person_id = outcome_events.person_id
        and assigned.first_exposed_at <= outcome_events.event_time
        and assigned.end_at >= outcome_events.event_time
    group by assigned.experiment_id, assigned.person_id

),

revenue as (

    select
        assigned.experiment_id,
        assigned.person_id,
        sum(orders.amount) as revenue

    from assigned
    inner join orders
        on assigned.person_id = orders.user_id
    cross join reporting_dates
    where
        orders.paid_at >= assigned.first_exposed_at
        and orders.paid_at <= assigned.end_at
        and orders.paid_date <= reporting_dates.last_complete_date
    group by assigned.experiment_id, assigned.person_id

),

final as (

    select
        assigned.experiment_id,
        assigned.person_id,
        assigned.variant,
        assigned.first_exposed_at,
        assigned.variants_seen,
        outcomes.pay_conversion,
        outcomes.order_conversion,
        outcomes.add_to_cart_conversion,
        coalesce(revenue.revenue, 0) as revenue_per_user

    from assigned
    inner join outcomes
        on
        assigned.experiment_id = outcomes.experiment_id
        and assigned.person_id = outcomes.person_id
    left join revenue
        on
        assigned.experiment_id = revenue.experiment_id
        and assigned.person_id = revenue.person_id

)

select * from final
