{#
    Company activity per business date (docs/metrics.md activity_daily): one row
    for every date from the first landing day to the last complete date, zeros
    where nothing happened.

    WAU and MAU without a 7x / 30x self-join: each active day d of a person
    covers the dates [d, min(next active day, d + N)) of an N-day window; the
    spans of a person never overlap, so the active persons of the window
    ending on D are the spans covering D: +1 where a span starts, -1 where it
    ends, and a running sum over the dates. Person-days before the first
    landing day (late or old events) count in the windows and in "first-ever
    event", but get no row.
#}

with

dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

person_days as (

    select * from {{ ref('int_person_days_stitched') }}

),

persons as (

    select * from {{ ref('int_persons_acquired') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

daily_active as (

    select
        event_date as date,
        count(*) as dau

    from person_days
    group by event_date

),

active_spans as (

    select
        person_id,
        event_date,
        lead(event_date) over (
            partition by person_id
            order by event_date
        ) as next_active_date

    from person_days

),

span_changes as (

    -- a span starts on each active day ...
    select
        event_date as date,
        1 as wau_change,
        1 as mau_change

    from active_spans

    union all

    -- ... and ends at the next active day or after 7 days, whichever first
    select
        case
            when next_active_date < {{ add_days('event_date', 7) }} then next_active_date
            else {{ add_days('event_date', 7) }}
        end as date,
        -1 as wau_change,
        0 as mau_change

    from active_spans

    union all

    -- ... and after 30 days for MAU
    select
        case
            when next_active_date < {{ add_days('event_date', 30) }} then next_active_date
            else {{ add_days('event_date', 30) }}
        end as date,
        0 as wau_change,
        -1 as mau_change

    from active_spans

    union all

    select
        date,
        0 as wau_change,
        0 as mau_change

    from dates

),

changes_by_date as (

    select
        date,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change

    from span_changes
    group by date

),

rolling_active as (

    select
        date,
        sum(wau_change) over (
            order by date
            rows between unbounded preceding and current row
        ) as wau,
        sum(mau_change) over (
            order by date
            rows between unbounded preceding and current row
        ) as mau

    from changes_by_date

),

new_visitors as (

    select
        cohort_date as date,
        count(*) as new_visitors

    from persons
    group by cohort_date

),

registered_users as (

    select
        registered_date as date,
        count(*) as new_users

    from users
    group by registered_date

),

registered_persons as (

    -- stand-in while the users source is empty: first register event
    select
        first_register_date as date,
        count(*) as new_users

    from persons
    where first_register_date is not null
    group by first_register_date

),

users_source as (

    select count(*) as users from users

),

final as (

    select
        dates.date,
        cast(coalesce(daily_active.dau, 0) as bigint) as dau,
        cast(coalesce(rolling_active.wau, 0) as bigint) as wau,
        cast(coalesce(rolling_active.mau, 0) as bigint) as mau,
        {{ safe_divide('coalesce(daily_active.dau, 0)', 'rolling_active.mau') }} as stickiness,
        cast(
            case
                when users_source.users > 0 then coalesce(registered_users.new_users, 0)
                else coalesce(registered_persons.new_users, 0)
            end
            as bigint
        ) as new_users,
        cast(coalesce(new_visitors.new_visitors, 0) as bigint) as new_visitors

    from dates
    cross join users_source
    left join daily_active
        on dates.date = daily_active.date
    left join rolling_active
        on dates.date = rolling_active.date
    left join new_visitors
        on dates.date = new_visitors.date
    left join registered_users
        on dates.date = registered_users.date
    left join registered_persons
        on dates.date = registered_persons.date

)

select * from final
