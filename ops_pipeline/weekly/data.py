"""The report's figures: one module per section (headline, funnel, acquisition, audience, planning,
health), each querying the marts into small value objects; weekly_data gathers them. The only
place the report's numbers come from (summary, charts and render only format them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ops_pipeline.weekly.acquisition import Acquisition, acquisition
from ops_pipeline.weekly.audience import Content, Retention, Users, content, retention, users
from ops_pipeline.weekly.funnel import Funnel, funnel
from ops_pipeline.weekly.headline import Headline, headline
from ops_pipeline.weekly.health import Health, health
from ops_pipeline.weekly.planning import Campaigns, campaigns
from ops_pipeline.weekly.weeks import Week, WeekError


@dataclass
class WeeklyData:
    week: Week
    first_date: date
    last_date: date
    headline: Headline
    funnel: Funnel
    acquisition: Acquisition
    retention: Retention
    content: Content
    users: Users
    campaigns: Campaigns
    health: Health


def weekly_data(conn: duckdb.DuckDBPyConnection, week: Week, warehouse: str = "the warehouse") -> WeeklyData:
    """Every section of the week; WeekError when the marts do not cover the whole week."""
    first, last = conn.execute("select min(date), max(date) from marts.kpi_daily").fetchone()
    if first is None or week.start < first or week.end > last:
        span = f"{first} .. {last}" if first else "no dates at all"
        raise WeekError(
            f"week {week} ({week.start} .. {week.end}) is not complete in {warehouse}: its marts cover {span}"
        )
    return WeeklyData(
        week,
        first,
        last,
        headline(conn, week),
        funnel(conn, week),
        acquisition(conn, week),
        retention(conn, week),
        content(conn, week),
        users(conn, week),
        campaigns(conn, week),
        health(conn, week),
    )
