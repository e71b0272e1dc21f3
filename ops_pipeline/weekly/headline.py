"""Section 1, 核心指标 Headline: the week's figures against the previous week, their trends, the targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ops_pipeline.weekly.measures import (
    TREND_WEEKS,
    Change,
    change,
    registry,
    table_exists,
    weekly_values,
)
from ops_pipeline.weekly.weeks import Week

HEADLINE_METRICS = ["dau", "new_users", "orders", "paid_gmv", "pay_rate", "arpu", "visit_to_pay"]


@dataclass
class Figure:
    """One headline figure: this week against the previous one, and its weekly trend."""

    metric: str
    label: str
    format: str
    good_direction: str
    change: Change
    trend: list[tuple[str, float | None]]


@dataclass
class TargetLine:
    metric: str
    label: str
    slice: str
    period: str
    as_of: date
    target: float
    actual: float | None
    attainment: float | None
    pace: float | None
    projected: float | None
    status: str
    format: str


@dataclass
class Headline:
    figures: list[Figure]
    targets: list[TargetLine]


def headline(conn: duckdb.DuckDBPyConnection, week: Week) -> Headline:
    weeks = [week.shifted(-back) for back in range(TREND_WEEKS - 1, -1, -1)]
    values = weekly_values(conn, HEADLINE_METRICS, weeks)
    wau = dict(
        conn.execute(
            "select strftime(date, '%G-W%V'), wau from marts.kpi_daily where date in (select unnest(?))",
            [[w.end for w in weeks]],
        ).fetchall()
    )
    figures = []
    for metric in ["dau", "wau", *HEADLINE_METRICS[1:]]:
        if metric == "wau":
            figures.append(
                Figure(
                    "wau",
                    "周活跃用户 WAU (at week's end)",
                    "number",
                    "up",
                    Change(wau.get(str(week)), wau.get(str(week.shifted(-1)))),
                    [(str(w), wau.get(str(w))) for w in weeks],
                )
            )
            continue
        entry = registry()[metric]
        label = entry.display_name + (" (daily average)" if metric == "dau" else "")
        figures.append(
            Figure(
                metric,
                label,
                entry.format,
                entry.good_direction,
                change(values, metric, week),
                [(str(w), values.get((metric, str(w), "all"))) for w in weeks],
            )
        )
    return Headline(figures, targets(conn, week))


def targets(conn: duckdb.DuckDBPyConnection, week: Week) -> list[TargetLine]:
    """Each target whose period overlaps the week, as of the week's last day with progress."""
    if not table_exists(conn, "target_progress"):
        return []
    rows = conn.execute(
        """
        select metric, dimension, dimension_value, period_start, period_end, date, target, actual_to_date,
            attainment_to_date, pace, projected, status
        from marts.target_progress
        where period_start <= $end and period_end >= $start and date <= $end
        qualify date = max(date) over (partition by metric, dimension, dimension_value, period_start, period_end)
        order by period_start, metric, dimension, dimension_value
        """,
        {"start": week.start, "end": week.end},
    ).fetchall()
    lines = []
    for metric, dimension, value, start, end, day, target, actual, attainment, pace, projected, status in rows:
        entry = registry().get(metric)
        lines.append(
            TargetLine(
                metric,
                entry.display_name if entry else metric,
                "all" if dimension == "all" else f"{dimension}={value}",
                f"{start} .. {end}",
                day,
                target,
                actual,
                attainment,
                pace,
                projected,
                status,
                entry.format if entry else "number",
            )
        )
    return lines
