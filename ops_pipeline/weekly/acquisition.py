"""Section 3, 渠道与KOL Acquisition: channels (spend, new users, CAC, ROAS, D7 retention) and KOLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ops_pipeline.weekly.measures import (
    TOP,
    Change,
    change,
    weekly_parts,
    weekly_values,
)
from ops_pipeline.weekly.weeks import Week


@dataclass
class ChannelLine:
    channel: str
    spend: Change
    new_users: Change
    cac: Change
    roas: Change
    d7_retention: Change  # of the channel's persons first seen the week before (their day 7 is in this week)


@dataclass
class KolLine:
    kol_name: str
    platform: str
    tier: str
    score: float | None
    posts: int
    roi: float | None


@dataclass
class Acquisition:
    channels: list[ChannelLine]
    best: ChannelLine | None
    worst: ChannelLine | None
    kols: list[KolLine]
    kol_as_of: date | None
    new_posts: int
    new_post_kols: int


def acquisition(conn: duckdb.DuckDBPyConnection, week: Week) -> Acquisition:
    weeks = [week.shifted(-1), week]
    values = weekly_values(conn, ["spend", "cac", "roas"], weeks, "channel")
    # A channel's new users: the denominator of its CAC (channel_new_users is not sliced on its own).
    new_users = {key: denominator for key, (_, denominator) in weekly_parts(conn, "cac", weeks, "channel").items()}
    d7 = {
        (str(Week.of(cohort_week)), channel): rate
        for channel, cohort_week, rate in conn.execute(
            "select acquisition_channel, cohort_week, d7_retention_rate from marts.channel_quality "
            "where cohort_week between ? and ?",
            [week.shifted(-2).start, week.shifted(-1).start],
        ).fetchall()
    }
    names = sorted({c for (_, w, c) in values if w == str(week)} | {c for (w, c) in new_users if w == str(week)})
    channels = [
        ChannelLine(
            channel,
            change(values, "spend", week, channel),
            Change(new_users.get((str(week), channel)), new_users.get((str(week.shifted(-1)), channel))),
            change(values, "cac", week, channel),
            change(values, "roas", week, channel),
            Change(d7.get((str(week.shifted(-1)), channel)), d7.get((str(week.shifted(-2)), channel))),
        )
        for channel in names
    ]
    paid = [c for c in channels if c.roas.current is not None and (c.spend.current or 0) > 0]
    paid.sort(key=lambda c: c.roas.current, reverse=True)
    kols = conn.execute(
        "select kol_name, platform, tier, score, posts, roi, as_of_date from marts.kol_scorecard "
        "order by score desc nulls last, kol_id limit ?",
        [TOP],
    ).fetchall()
    posts, post_kols = conn.execute(
        "select count(*), count(distinct kol_id) from staging.stg_kol__posts where published_date between ? and ?",
        [week.start, week.end],
    ).fetchone()
    return Acquisition(
        channels,
        paid[0] if paid else None,
        paid[-1] if len(paid) > 1 else None,
        [KolLine(*row[:6]) for row in kols],
        kols[0][6] if kols else None,
        posts,
        post_kols,
    )
