-- The slices of funnel_daily add up to kpi_daily's visit_to_pay numerator
-- (persons at the last step) and denominator (persons at step 1) on every
-- date of kpi_daily.
-- In Dagster, a check of kpi_daily, which takes its funnel totals from funnel_daily.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_daily'}}}) }}

with

funnel as (

    select * from {{ ref('funnel_daily') }}

),

kpi as (

    select * from {{ ref('kpi_daily') }}

),

funnel_by_date as (

    select
        date,
        sum(case when step_index = 1 then persons else 0 end) as entrants,
        sum(case when step_index = {{ funnel_steps() | length }} then persons else 0 end) as completers

    from funnel
    group by date

),

final as (

    select
        kpi.date,
        kpi.funnel_entrants,
        funnel_by_date.entrants,
        kpi.funnel_completers,
        funnel_by_date.completers

    from kpi
    left join funnel_by_date
        on kpi.date = funnel_by_date.date
    where kpi.funnel_entrants <> coalesce(funnel_by_date.entrants, 0)
        or kpi.funnel_completers <> coalesce(funnel_by_date.completers, 0)

)

select * from final
