{#
    Quality of what each channel acquires, per acquisition channel x cohort
    week (Monday of the week; docs/metrics.md channel_quality). Three facts share
    the grain, joined outer-style (a channel-week with any of them has a row):

    * tracked persons by the week of their first-ever event, with the
      acquisition channel and day-7 retention of retention_cohort
      (cohort_size; d7_retention_rate over the persons whose day 7 is on or
      before the last complete date);
    * users by the week of registered_at (users source) and the channel they
      were acquired by (as above, so the users source's channel first), with
      the gross amount of their orders paid within 30 days of registering;
    * ad spend of the week for the channel, and cac = spend / those users.
#}

with

persons as (

    select * from {{ ref('int_persons_acquired') }}

),

person_days as (

    select * from {{ ref('int_person_days_stitched') }}

),

dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

spend as (

    select * from {{ ref('stg_ads__channel_spend') }}

),

last_complete as (

    select max(date) as last_complete_date from dates

),

cohort_persons as (

    select
        persons.acquisition_channel,
        cast({{ dbt.date_trunc('week', 'persons.cohort_date') }} as date) as cohort_week,
        case
            when {{ add_days('persons.cohort_date', 7) }} <= last_complete.last_complete_date then 1
            else 0
        end as is_d7_eligible,
        case when day_7.person_id is null then 0 else 1 end as is_d7_active

    from persons
    cross join last_complete
    left join person_days as day_7
        on persons.person_id = day_7.person_id
        and {{ add_days('persons.cohort_date', 7) }} = day_7.event_date

),

user_orders as (

    select
        orders.user_id,
        sum(orders.amount) as paid_gmv_30d

    from orders
    inner join users
        on orders.user_id = users.user_id
    where orders.paid_at >= users.registered_at
        and orders.paid_at <= {{ dbt.dateadd('day', 30, 'users.registered_at') }}
    group by orders.user_id

),

acquired_users as (

    select
        coalesce(persons.acquisition_channel, users.channel, '(none)') as acquisition_channel,
        cast({{ dbt.date_trunc('week', 'users.registered_date') }} as date) as cohort_week,
        coalesce(user_orders.paid_gmv_30d, 0) as paid_gmv_30d

    from users
    left join persons
        on users.user_id = persons.person_id
    left join user_orders
        on users.user_id = user_orders.user_id

),

channel_week_facts as (

    select
        acquisition_channel,
        cohort_week,
        1 as cohort_persons,
        is_d7_eligible as d7_eligible,
        is_d7_eligible * is_d7_active as d7_retained,
        0 as acquired_users,
        0.0 as paid_gmv_30d,
        0.0 as spend

    from cohort_persons

    union all

    select
        acquisition_channel,
        cohort_week,
        0 as cohort_persons,
        0 as d7_eligible,
        0 as d7_retained,
        1 as acquired_users,
        paid_gmv_30d,
        0.0 as spend

    from acquired_users

    union all

    select
        channel as acquisition_channel,
        cast({{ dbt.date_trunc('week', 'spend_date') }} as date) as cohort_week,
        0 as cohort_persons,
        0 as d7_eligible,
        0 as d7_retained,
        0 as acquired_users,
        0.0 as paid_gmv_30d,
        spend

    from spend

),

totals as (

    select
        acquisition_channel,
        cohort_week,
        cast(sum(cohort_persons) as bigint) as cohort_size,
        cast(sum(d7_eligible) as bigint) as d7_eligible,
        cast(sum(d7_retained) as bigint) as d7_retained,
        cast(sum(acquired_users) as bigint) as acquired_users,
        sum(paid_gmv_30d) as paid_gmv_30d,
        sum(spend) as spend

    from channel_week_facts
    group by acquisition_channel, cohort_week

),

final as (

    select
        totals.acquisition_channel,
        totals.cohort_week,
        totals.cohort_size,
        {{ safe_divide('totals.d7_retained', 'totals.d7_eligible') }} as d7_retention_rate,
        totals.acquired_users,
        totals.paid_gmv_30d,
        {{ safe_divide('totals.paid_gmv_30d', 'totals.acquired_users') }} as paid_gmv_30d_per_user,
        {{ add_days('totals.cohort_week', 36) }} <= last_complete.last_complete_date as paid_gmv_30d_complete,
        totals.spend,
        {{ safe_divide('totals.spend', 'totals.acquired_users') }} as cac

    from totals
    cross join last_complete

)

select * from final
