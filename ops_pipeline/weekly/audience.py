"""Sections 4 to 6: 留存 Retention of weekly cohorts, 内容 Content, 用户分层 Users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ops_pipeline.weekly.measures import (
    TOP,
    TREND_WEEKS,
    table_exists,
)
from ops_pipeline.weekly.weeks import Week


@dataclass
class Retention:
    day_ns: list[int]
    cohorts: list[tuple[str, int, dict[int, float | None]]]  # (week, persons, {day_n: rate})


def retention(conn: duckdb.DuckDBPyConnection, week: Week) -> Retention:
    """Persons first seen in each of the last weeks, the share active on day N (summed over the
    week's cohort dates and channels); a day N appears once every cohort date of the week has it."""
    first = week.shifted(-(TREND_WEEKS - 1)).start
    rows = conn.execute(
        """
        with by_week as (
            select
                strftime(cohort_date, '%G-W%V') as week,
                day_n,
                count(distinct cohort_date) as cohort_days,
                sum(retained) / nullif(sum(cohort_size), 0) as rate
            from marts.retention_cohort
            where cohort_date between ? and ?
            group by all
        ),
        sizes as (
            select strftime(cohort_date, '%G-W%V') as week, sum(cohort_size) as persons, count(*) as days
            from (
                select cohort_date, sum(cohort_size) as cohort_size
                from marts.retention_cohort where day_n = 1 and cohort_date between ? and ? group by all
            )
            group by all
        )
        select by_week.week, sizes.persons, by_week.day_n, by_week.rate
        from by_week inner join sizes on by_week.week = sizes.week
        where by_week.cohort_days = sizes.days
        order by by_week.week, by_week.day_n
        """,
        [first, week.end, first, week.end],
    ).fetchall()
    cohorts: dict[str, tuple[int, dict]] = {}
    for cohort_week, persons, day_n, rate in rows:
        cohorts.setdefault(cohort_week, (int(persons), {}))[1][int(day_n)] = rate
    day_ns = sorted({d for _, rates in cohorts.values() for d in rates})
    return Retention(day_ns, [(w, p, rates) for w, (p, rates) in sorted(cohorts.items())])


@dataclass
class ContentLine:
    title: str
    content_format: str
    reads: float | None
    interaction_rate: float | None
    assisted_payers: int


@dataclass
class Content:
    by_interaction: list[ContentLine]
    by_payers: list[ContentLine]


def content(conn: duckdb.DuckDBPyConnection, week: Week) -> Content:
    """Per item over the week: interaction rate = interactions / reads (clicks where a platform has
    no reads), the mart's own rate weighted back by its denominator; assisted payers counted once
    per item and day (the tracking columns repeat on each platform row)."""
    query = """
        with rows as (
            select * from marts.content_daily where date between ? and ?
        ),
        statistics as (
            select
                content_id,
                sum(interaction_rate * coalesce(reads, clicks))
                    / nullif(sum(coalesce(reads, clicks)) filter (where interaction_rate is not null), 0)
                    as interaction_rate,
                sum(reads) as reads
            from rows
            group by content_id
        ),
        tracking as (
            select content_id, sum(payers) as payers
            from (
                select content_id, date, max(content_assisted_payers) as payers from rows group by all
            )
            group by content_id
        ),
        items as (
            select content_id, any_value(title order by date desc) as title,
                any_value(content_format order by date desc) as content_format
            from rows where title is not null group by content_id
        )
        select items.title, items.content_format, statistics.reads, statistics.interaction_rate,
            coalesce(tracking.payers, 0) as payers
        from items
        left join statistics on items.content_id = statistics.content_id
        left join tracking on items.content_id = tracking.content_id
    """
    rows = [ContentLine(*row) for row in conn.execute(query, [week.start, week.end]).fetchall()]
    rated = [r for r in rows if r.interaction_rate is not None]
    by_rate = sorted(rated, key=lambda r: (-r.interaction_rate, r.title))[:TOP]
    by_payers = sorted(rows, key=lambda r: (-r.assisted_payers, r.title))[:TOP]
    return Content(by_rate, [r for r in by_payers if r.assisted_payers])


@dataclass
class Users:
    as_of: date | None
    segments: list[tuple[str, int, float]]  # segment, users, share
    buyers: int
    high_risk: int
    high_risk_value: float
    high_risk_by_segment: list[tuple[str, int]]


def users(conn: duckdb.DuckDBPyConnection, week: Week) -> Users:
    """RFM segments and churn risk: the marts hold them as of the last complete date only."""
    rows = conn.execute(
        "select segment, count(*), any_value(as_of_date) from marts.rfm_segments group by segment "
        "order by count(*) desc, segment"
    ).fetchall()
    buyers = sum(n for _, n, _ in rows)
    risk = (0, 0.0, [])
    if table_exists(conn, "churn_risk"):
        high, value = conn.execute(
            "select count(*), coalesce(sum(monetary), 0) from marts.churn_risk where risk = 'high'"
        ).fetchone()
        by_segment = conn.execute(
            "select segment, count(*) from marts.churn_risk where risk = 'high' group by segment "
            "order by count(*) desc, segment"
        ).fetchall()
        risk = (high, value, by_segment)
    return Users(
        rows[0][2] if rows else None,
        [(segment, n, n / buyers) for segment, n, _ in rows],
        buyers,
        *risk,
    )
