{#
    The KOLs to book for var shortlist_budget yuan (docs/metrics.md kol_shortlist):
    one post each, expected to cost the KOL's average fee per post and to
    bring their average attributed paid GMV per post. KOLs are taken greedily
    by score per yuan of that cost, best first, and the picking stops at the
    first KOL whose cost would take the running total over the budget.
    KOLs without a score are never picked.
#}

with

scorecard as (

    select * from {{ ref('kol_scorecard') }}

),

candidates as (

    select
        kol_id,
        kol_name,
        platform,
        tier,
        score,
        posts,
        {{ safe_divide('fee', 'posts') }} as expected_cost,
        {{ safe_divide('attributed_paid_gmv', 'posts') }} as expected_attributed_gmv,
        roi as expected_roi,
        {{ safe_divide('score', safe_divide('fee', 'posts')) }} as score_per_yuan

    from scorecard
    where score is not null

),

ranked as (

    -- free posts (no fee: no score per yuan) come after the paid ones
    select
        *,
        row_number() over (
            order by
                case when score_per_yuan is null then 1 else 0 end asc,
                score_per_yuan desc,
                score desc,
                kol_id asc
        ) as pick_rank

    from candidates

),

running_totals as (

    select
        *,
        sum(expected_cost) over (
            order by pick_rank
            rows between unbounded preceding and current row
        ) as cumulative_cost,
        sum(expected_attributed_gmv) over (
            order by pick_rank
            rows between unbounded preceding and current row
        ) as cumulative_attributed_gmv

    from ranked

),

final as (

    select
        pick_rank,
        kol_id,
        kol_name,
        platform,
        tier,
        score,
        score_per_yuan,
        expected_cost,
        expected_attributed_gmv,
        expected_roi,
        cumulative_cost,
        cumulative_attributed_gmv,
        {{ safe_divide('cumulative_attributed_gmv', 'cumulative_cost') }} as cumulative_roi,
        cast({{ var('shortlist_budget') }} as {{ type_double() }}) as budget,
        {{ var('shortlist_budget') }} - cumulative_cost as budget_remaining

    from running_totals
    -- costs are >= 0, so this stops at the first pick over the budget
    where cumulative_cost <= {{ var('shortlist_budget') }}

)

select * from final
