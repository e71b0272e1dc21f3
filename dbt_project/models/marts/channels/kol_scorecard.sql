{#
    One row per KOL with posts published in the scoring window: the
    var kol_window_days days up to the last complete date (docs/metrics.md
    kol_scorecard). Each input is ranked among the window's KOLs that have it
    (percent_rank x 100: 0 = lowest, 100 = highest); the score is the mean of
    the ranks weighted by var kol_weights over the inputs the KOL has, so a
    missing input drops out and the others are re-weighted.
#}

{%- set score_inputs = ['engagement_rate', 'view_rate', 'conversion_rate', 'roi', 'audience_match'] %}
{%- set weights = var('kol_weights') %}
{%- if weights is not mapping or (weights | length) == 0 %}
    {{ exceptions.raise_compiler_error("var kol_weights must map some of " ~ score_inputs | join(', ') ~ " to weights") }}
{%- endif %}
{%- for name in weights if name not in score_inputs %}
    {{ exceptions.raise_compiler_error("var kol_weights: unknown input '" ~ name ~ "', expected some of " ~ score_inputs | join(', ')) }}
{%- endfor %}
{%- set tiers = var('kol_tiers') | dictsort(by='value', reverse=true) %}
{%- set weighted_ranks = [] %}
{%- set present_weights = [] %}
{%- for name, weight in weights.items() %}
{%- do weighted_ranks.append('coalesce(' ~ weight ~ ' * ' ~ name ~ '_percentile, 0)') %}
{%- do present_weights.append('case when ' ~ name ~ '_percentile is not null then ' ~ weight ~ ' else 0 end') %}
{%- endfor %}

with

posts as (

    select * from {{ ref('stg_kol__posts') }}

),

users as (

    select * from {{ ref('stg_backend__users') }}

),

orders as (

    select * from {{ ref('stg_backend__orders') }}

),

reporting_dates as (

    select * from {{ ref('int_business_dates_spanned') }}

),

scoring_window as (

    select
        {{ add_days('max(date)', 1 - (var('kol_window_days') | int)) }} as window_start,
        max(date) as window_end

    from reporting_dates

),

window_posts as (

    select
        posts.post_id,
        posts.kol_id,
        posts.kol_name,
        posts.platform,
        posts.followers,
        posts.published_at,
        posts.snapshot_date,
        posts.views,
        posts.likes + posts.comments + posts.shares as engagements,
        posts.fee,
        posts.campaign_id,
        posts.audience_match,
        scoring_window.window_end as as_of_date

    from posts
    inner join scoring_window
        on posts.published_date between scoring_window.window_start and scoring_window.window_end

),

-- followers and name as of the KOL's latest snapshot
latest_post as (

    {{ deduplicate(
        'window_posts',
        partition_by=['kol_id'],
        order_by=['snapshot_date desc', 'published_at desc', 'post_id desc']
    ) }}

),

platform_posts as (

    -- the KOL's platform is the one with most posts (ties: alphabetical)
    select
        kol_id,
        platform,
        row_number() over (
            partition by kol_id
            order by count(*) desc, platform
        ) as platform_rank

    from window_posts
    group by kol_id, platform

),

post_totals as (

    select
        kol_id,
        max(as_of_date) as as_of_date,
        count(*) as posts,
        cast(sum(views) as bigint) as views,
        cast(sum(engagements) as bigint) as engagements,
        sum(fee) as fee,
        {{ safe_divide(
            'sum(case when audience_match is not null then views * audience_match end)',
            'sum(case when audience_match is not null then views end)'
        ) }} as audience_match

    from window_posts
    group by kol_id

),

tracking_codes as (

    select distinct
        kol_id,
        campaign_id

    from window_posts

),

attributed_users as (

    select
        tracking_codes.kol_id,
        count(distinct users.user_id) as attributed_users

    from tracking_codes
    inner join users
        on tracking_codes.campaign_id = users.campaign_id
    group by tracking_codes.kol_id

),

attributed_orders as (

    select
        tracking_codes.kol_id,
        sum(orders.amount) as attributed_paid_gmv,
        count(distinct orders.user_id) as attributed_paying_users

    from tracking_codes
    inner join orders
        on tracking_codes.campaign_id = orders.campaign_id
    where orders.paid_at is not null
    group by tracking_codes.kol_id

),

kol_metrics as (

    select
        post_totals.kol_id,
        latest_post.kol_name,
        platform_posts.platform,
        post_totals.as_of_date,
        post_totals.posts,
        latest_post.followers,
        post_totals.views,
        post_totals.engagements,
        post_totals.fee,
        {{ safe_divide('post_totals.engagements', 'post_totals.views') }} as engagement_rate,
        {{ safe_divide('post_totals.views', 'latest_post.followers') }} as view_rate,
        {{ safe_divide('post_totals.fee', 'post_totals.views') }} * 1000 as cpm,
        {{ safe_divide('post_totals.fee', 'post_totals.engagements') }} as cpe,
        coalesce(attributed_users.attributed_users, 0) as attributed_users,
        coalesce(attributed_orders.attributed_paid_gmv, 0) as attributed_paid_gmv,
        coalesce(attributed_orders.attributed_paying_users, 0) as attributed_paying_users,
        {{ safe_divide(
            'coalesce(attributed_orders.attributed_paying_users, 0)',
            'post_totals.views'
        ) }} as conversion_rate,
        {{ safe_divide('coalesce(attributed_orders.attributed_paid_gmv, 0)', 'post_totals.fee') }} as roi,
        post_totals.audience_match

    from post_totals
    inner join latest_post
        on post_totals.kol_id = latest_post.kol_id
    inner join platform_posts
        on post_totals.kol_id = platform_posts.kol_id
        and platform_posts.platform_rank = 1
    left join attributed_users
        on post_totals.kol_id = attributed_users.kol_id
    left join attributed_orders
        on post_totals.kol_id = attributed_orders.kol_id

),

percentiles as (

    -- ranked among the KOLs that have the input; NULL inputs get no rank;
    -- inputs equal to 12 decimals tie: the last bits of a float sum depend on
    -- the order of addition, which differs between engines
    select
        *,
        {%- for name in score_inputs %}
        case
            when {{ name }} is not null
                then 100 * percent_rank() over (
                    partition by case when {{ name }} is null then 1 else 0 end
                    order by {{ round_double(name, 12) }}
                )
        end as {{ name }}_percentile{% if not loop.last %},{% endif %}{% endfor %}

    from kol_metrics

),

scored as (

    -- sum of weight x rank over the inputs present / sum of their weights
    select
        *,
        {{ safe_divide(weighted_ranks | join(' + '), present_weights | join(' + ')) }} as score

    from percentiles

),

final as (

    select
        kol_id,
        kol_name,
        platform,
        as_of_date,
        posts,
        followers,
        views,
        engagements,
        fee,
        engagement_rate,
        view_rate,
        cpm,
        cpe,
        attributed_users,
        attributed_paid_gmv,
        attributed_paying_users,
        conversion_rate,
        roi,
        audience_match,
        {%- for name in score_inputs %}
        {{ name }}_percentile,
        {%- endfor %}
        score,
        case
            {%- for tier, minimum in tiers %}
            when score >= {{ minimum }} then '{{ tier }}'
            {%- endfor %}
            else 'C'
        end as tier

    from scored

)

select * from final
