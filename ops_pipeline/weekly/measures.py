"""Weekly values of registry metrics, read from marts.metrics_daily: the one rule by which the report
turns daily figures into a week's.

Counts and sums add up over the week's days (DAU is averaged instead: a week's "DAU" is the mean
day); ratios are the summed numerator over the summed denominator, as target_progress and
campaign_review take them. The metric's label, kind and format come from the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import duckdb

from ops_pipeline.metrics.registry import Metric, load_registry
from ops_pipeline.weekly.weeks import Week

TREND_WEEKS = 8  # the trend charts and the retention cohorts
TOP = 5  # rows of the top-N tables
AVERAGED = frozenset({"dau"})  # a week's DAU is its mean day, not the person-days


@lru_cache(maxsize=1)
def registry() -> dict[str, Metric]:
    return load_registry()


@dataclass(frozen=True)
class Change:
    """A value of this week and of the previous one (环比)."""

    current: float | None
    previous: float | None

    @property
    def relative(self) -> float | None:
        if self.current is None or not self.previous:
            return None
        return self.current / self.previous - 1

    @property
    def difference(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


def weekly_values(
    conn: duckdb.DuckDBPyConnection, metrics: list[str], weeks: list[Week], dimension: str = "all"
) -> dict[tuple[str, str, str], float | None]:
    """{(metric, str(week), dimension_value): value} of these metrics over these weeks, one slice
    dimension (`all`: the company total)."""
    averaged = [m for m in metrics if m in AVERAGED]
    ratios = [m for m in metrics if registry()[m].kind == "ratio"]
    rows = conn.execute(
        """
        with days as (
            select
                strftime(date, '%G-W%V') as week,
                metric,
                dimension_value,
                value,
                numerator,
                denominator,
                case
                    when metric in (select unnest($ratios)) then 'ratio'
                    when metric in (select unnest($averaged)) then 'mean'
                    else 'sum'
                end as rule
            from marts.metrics_daily
            where metric in (select unnest($metrics))
              and dimension = $dimension
              and date between $first and $last
        )
        select
            week,
            metric,
            dimension_value,
            case any_value(rule)
                when 'ratio' then sum(numerator) / nullif(sum(denominator), 0)
                when 'mean' then sum(value) / count(*)
                else sum(value)
            end as value
        from days
        group by week, metric, dimension_value
        """,
        {
            "metrics": metrics,
            "dimension": dimension,
            "first": min(weeks).start,
            "last": max(weeks).end,
            "ratios": ratios or [""],
            "averaged": averaged or [""],
        },
    ).fetchall()
    wanted = {str(w) for w in weeks}
    return {(m, w, v): value for w, m, v, value in rows if w in wanted}


def change(values: dict, metric: str, week: Week, dimension_value: str = "all") -> Change:
    return Change(
        values.get((metric, str(week), dimension_value)), values.get((metric, str(week.shifted(-1)), dimension_value))
    )


def weekly_parts(
    conn: duckdb.DuckDBPyConnection, metric: str, weeks: list[Week], dimension: str = "all"
) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """{(str(week), dimension_value): (numerator, denominator)} of a ratio metric summed over each
    week: the counts its weekly value is the ratio of (a funnel step's persons, a channel's new users)."""
    rows = conn.execute(
        "select strftime(date, '%G-W%V'), dimension_value, sum(numerator), sum(denominator) "
        "from marts.metrics_daily where metric = ? and dimension = ? and date between ? and ? group by all",
        [metric, dimension, min(weeks).start, max(weeks).end],
    ).fetchall()
    return {(week, value): (numerator, denominator) for week, value, numerator, denominator in rows}


def parts_change(parts: dict, week: Week, index: int, dimension_value: str = "all") -> Change:
    """The numerator (index 0) or denominator (1) of this week against the previous one."""
    current, previous = parts.get((str(week), dimension_value)), parts.get((str(week.shifted(-1)), dimension_value))
    return Change(current[index] if current else None, previous[index] if previous else None)


def table_exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "marts") -> bool:
    query = "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?"
    return conn.execute(query, [schema, table]).fetchone()[0] > 0
