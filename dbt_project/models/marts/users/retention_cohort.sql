{#
    Day-N retention per cohort date x acquisition channel x N (docs/metrics.md
    retention_cohort; N from var retention_days). The cohort is persons by the
    date of their first-ever event; retained on day N = active on exactly
    cohort_date + N. A row exists only once cohort_date + N <= the last
    complete date. Rebuilt in full from the person-day tables, so retroactive
    identity stitching moves persons between cohorts on every date.
#}

{%- set retention_days = var('retention_days') %}

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

last_complete as (

    select max(date) as last_complete_date from dates

),

retention_days as (
    {%- for day_n in retention_days %}

    select {{ day_n | int }} as day_n
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

cohort_days as (

    select
        persons.person_id,
        persons.cohort_date,
        persons.acquisition_channel,
        retention_days.day_n,
        {{ add_days('persons.cohort_date', 'retention_days.day_n') }} as return_date

    from persons
    cross join retention_days
    cross join last_complete
    where {{ add_days('persons.cohort_date', 'retention_days.day_n') }} <= last_complete.last_complete_date

),

returns as (

    select
        cohort_days.cohort_date,
        cohort_days.acquisition_channel,
        cohort_days.day_n,
        cohort_days.person_id,
        case when person_days.person_id is null then 0 else 1 end as is_retained

    from cohort_days
    left join person_days
        on cohort_days.person_id = person_days.person_id
        and cohort_days.return_date = person_days.event_date

),

final as (

    select
        cohort_date,
        acquisition_channel,
        day_n,
        cast(count(*) as bigint) as cohort_size,
        cast(sum(is_retained) as bigint) as retained,
        {{ safe_divide('sum(is_retained)', 'count(*)') }} as retention_rate

    from returns
    group by cohort_date, acquisition_channel, day_n

)

select * from final
