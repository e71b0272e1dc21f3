"""Ranges learned from the previous weeks, in SQL: what a day's volume should be.

For each date D of the run and each slice (a platform, an event name) seen in
the history, the history is D's volume on the same weekday of the previous
`history_weeks` weeks (weekly seasonality), counting only dates that have any
data at all. The expected range is

    [min * (1 - drop_tolerance) - noise_sigmas * sqrt(min),
     max * (1 + rise_tolerance) + noise_sigmas * sqrt(max)]

so a busy slice may fall by `drop_tolerance` below the lowest and rise by
`rise_tolerance` above the highest of the last weeks, and a
small one also by a few standard deviations of a Poisson count. A slice that
had data in the history and none on D counts 0 rows: a platform going silent
falls below its range. Dates with fewer than `min_history_weeks` history days,
and slices whose busiest history day had fewer than `min_rows` rows, are not
judged (lower and upper are NULL, which Great Expectations skips).
"""

from __future__ import annotations

from ops_pipeline.quality.params import SqlFormatter

BUILDERS = ("learned_volume_ranges",)


def build(builder: str, params: dict) -> str:
    if builder != "learned_volume_ranges":
        raise ValueError(f"unknown builder {builder!r}; known: {', '.join(BUILDERS)}")
    return volume_ranges_sql(params)


def volume_ranges_sql(params: dict) -> str:
    """One row per (run date, dimension, slice): rows, history_days, lower, upper."""
    history_days = 7 * int(params["history_weeks"])
    counts = "\n        union all\n".join(
        SqlFormatter().format(
            """        select
            {date_column:name} as date,
            {dimension} as dimension,
            coalesce(cast({dimension:name} as varchar), '(none)') as slice,
            count(*) as rows
        from {table:sql}
        where {date_column:name} between {start} - {history_days} and {end}
        group by all""",
            **{**params, "dimension": dimension, "history_days": history_days},
        )
        for dimension in params["dimensions"]
    )
    return SqlFormatter().format(
        """
with

counts as (

{counts:sql_block}

),

built_dates as (

    select distinct date from counts

),

run_dates as (

    select cast(unnest(generate_series({start}, {end}, interval 1 day)) as date) as date

),

slices as (

    -- every slice of the period; one without history before a date is not judged on it
    select distinct dimension, slice from counts

),

grid as (

    select run_dates.date, slices.dimension, slices.slice
    from run_dates
    cross join slices

),

history as (

    -- the same weekday of the previous weeks; a built date without the slice counts 0
    select
        grid.date,
        grid.dimension,
        grid.slice,
        coalesce(counts.rows, 0) as rows
    from grid
    inner join built_dates as history_dates
        on history_dates.date < grid.date
        and history_dates.date >= grid.date - {history_days}
        and date_diff('day', history_dates.date, grid.date) % 7 = 0
    left join counts
        on counts.date = history_dates.date
        and counts.dimension = grid.dimension
        and counts.slice = grid.slice

),

ranges as (

    select
        date,
        dimension,
        slice,
        count(*) as history_days,
        min(rows) as history_min,
        max(rows) as history_max
    from history
    group by all

),

final as (

    select
        grid.date,
        grid.dimension,
        grid.slice,
        coalesce(counts.rows, 0) as rows,
        coalesce(ranges.history_days, 0) as history_days,
        ranges.history_min,
        ranges.history_max,
        ranges.history_days >= {min_history_weeks} and ranges.history_max >= {min_rows} as judged
    from grid
    left join counts
        on counts.date = grid.date
        and counts.dimension = grid.dimension
        and counts.slice = grid.slice
    left join ranges
        on ranges.date = grid.date
        and ranges.dimension = grid.dimension
        and ranges.slice = grid.slice

)

select
    date,
    dimension,
    slice,
    rows,
    history_days,
    history_min,
    history_max,
    case when judged then cast(greatest(0, floor(
        history_min * (1 - {drop_tolerance}) - {noise_sigmas} * sqrt(history_min))) as bigint) end as lower,
    case when judged then cast(ceil(
        history_max * (1 + {rise_tolerance}) + {noise_sigmas} * sqrt(history_max)) as bigint) end as upper
from final
""",
        **{**params, "counts": counts, "history_days": history_days},
    )
