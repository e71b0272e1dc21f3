"""The report's figures: one function per section, each querying the marts into small value
objects. The only place the report's numbers come from (render and deliver only format them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from ops_pipeline.weekly.measures import Change, change, parts_change, registry, weekly_parts, weekly_values
from ops_pipeline.weekly.weeks import Week, WeekError

TREND_WEEKS = 8
HEADLINE_METRICS = ["dau", "new_users", "orders", "paid_gmv", "pay_rate", "arpu", "visit_to_pay"]
FUNNEL_STEPS = ["product_view", "add_to_cart", "order_submit", "pay_success"]
TOP = 5


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
    if not _exists(conn, "target_progress"):
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


@dataclass
class FunnelStep:
    step: str
    label: str
    persons: Change  # persons reaching the step
    conversion: Change  # from the previous step

    @property
    def lost(self) -> float | None:
        """Persons of the previous step who did not get here this week."""
        if self.persons.current is None or self.conversion.current is None or not self.conversion.current:
            return None
        previous_persons = self.persons.current / self.conversion.current
        return previous_persons - self.persons.current


@dataclass
class Funnel:
    entrants: Change
    steps: list[FunnelStep]
    leak: FunnelStep | None  # the step losing the most people (流失点)
    worst: FunnelStep | None  # the step whose conversion fell most
    driver: tuple[str, str, Change] | None  # (dimension, value, conversion) of the slice behind `worst`


def funnel(conn: duckdb.DuckDBPyConnection, week: Week) -> Funnel:
    """Step conversions from the registry's funnel ratios; a step's persons are its ratio's numerator
    (the previous step's persons its denominator), summed over the week."""
    weeks = [week.shifted(-1), week]
    conversions = [f"funnel_{s}_conversion" for s in FUNNEL_STEPS]
    values = weekly_values(conn, conversions, weeks)
    parts = {metric: weekly_parts(conn, metric, weeks) for metric in conversions}
    steps = [
        FunnelStep(
            step,
            registry()[f"funnel_{step}_conversion"].display_name,
            parts_change(parts[f"funnel_{step}_conversion"], week, 0),
            change(values, f"funnel_{step}_conversion", week),
        )
        for step in FUNNEL_STEPS
    ]
    known = [s for s in steps if s.lost is not None]
    leak = max(known, key=lambda s: s.lost, default=None)
    falls = [s for s in steps if s.conversion.difference is not None and s.conversion.difference < 0]
    worst = min(falls, key=lambda s: s.conversion.difference, default=None)
    driver = _funnel_driver(conn, worst, weeks) if worst else None
    entrants = parts_change(parts[conversions[0]], week, 1)
    return Funnel(entrants, steps, leak, worst, driver)


def _funnel_driver(conn, step: FunnelStep, weeks: list[Week]) -> tuple[str, str, Change] | None:
    """The platform or channel whose own conversion fall, weighted by its persons at the previous
    step this week, lost the most conversions of the step."""
    metric = f"funnel_{step.step}_conversion"
    best = None
    for dimension in ("platform", "channel"):
        values = weekly_values(conn, [metric], weeks, dimension)
        parts = weekly_parts(conn, metric, weeks, dimension)
        for (week, value), (_, base) in sorted(parts.items()):
            if week != str(weeks[-1]):
                continue
            slice_change = change(values, metric, weeks[-1], value)
            if slice_change.difference is None or slice_change.difference >= 0:
                continue
            lost = -slice_change.difference * (base or 0)
            if best is None or lost > best[0]:
                best = (lost, dimension, value, slice_change)
    return best[1:] if best else None


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
    if _exists(conn, "churn_risk"):
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


@dataclass
class CampaignLine:
    campaign_id: str
    name: str
    scope: str
    period: str
    status: str  # ran (still running at the week's end) or ended
    target_metric: str | None
    attainment: float | None
    uplift_pct: float | None
    significant: bool | None
    incremental_roi: float | None
    cost: float | None


@dataclass
class ExperimentLine:
    experiment_id: str
    name: str
    metric: str
    variant: str
    lift_rel: float | None
    p_value: float | None
    decision: str


@dataclass
class Campaigns:
    campaigns: list[CampaignLine]
    experiments: list[ExperimentLine]


def campaigns(conn: duckdb.DuckDBPyConnection, week: Week) -> Campaigns:
    found: list[CampaignLine] = []
    if _exists(conn, "campaign_review"):
        rows = conn.execute(
            """
            select
                campaign_id,
                any_value(name),
                any_value(scope),
                any_value(start_date),
                any_value(end_date),
                any_value(metric) filter (where target_value is not null),
                any_value(attainment) filter (where target_value is not null),
                any_value(uplift_pct) filter (where metric = 'paid_gmv'),
                any_value(significant) filter (where metric = 'paid_gmv'),
                any_value(incremental_roi) filter (where metric = 'paid_gmv'),
                any_value(cost)
            from marts.campaign_review
            where start_date <= $end and end_date >= $start
            group by campaign_id
            order by any_value(start_date), campaign_id
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        for cid, name, scope, start, end, metric, attainment, uplift, significant, roi, cost in rows:
            status = "ended 已结束" if end <= week.end else "running 进行中"
            found.append(
                CampaignLine(
                    cid, name, scope, f"{start} .. {end}", status, metric, attainment, uplift, significant, roi, cost
                )
            )
    experiments: list[ExperimentLine] = []
    if _exists(conn, "experiment_results"):
        rows = conn.execute(
            """
            select results.experiment_id, plan.name, results.metric, results.variant, results.lift_rel,
                results.p_value, results.decision
            from marts.experiment_results as results
            inner join staging.stg_planning__experiments as plan on results.experiment_id = plan.experiment_id
            where results.decision is not null and not results.is_control
              and cast(plan.start_at as date) <= $end and cast(plan.end_at as date) >= $start
            order by results.experiment_id, results.variant
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        experiments = [ExperimentLine(*row) for row in rows]
    return Campaigns(found, experiments)


@dataclass
class AlertLine:
    date: date | None
    label: str
    slice: str
    change: float | None
    cause: str
    reason: str
    severity: str


@dataclass
class Health:
    alerts: list[AlertLine]
    failed_checks: list[AlertLine]
    quarantine: list[tuple[str, int, int, float | None]]  # source, rows read, quarantined, rate
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # source, kind, message


def health(conn: duckdb.DuckDBPyConnection, week: Week) -> Health:
    """The week's alerts (by the date they are about) and the failed blocking checks announced
    while it was built (from its first day to a week after its last), from the outbox; the
    quarantine of the files that landed in the week, from the ingestion log."""
    alerts, checks = [], []
    if _exists(conn, "alert_outbox", "monitoring"):
        rows = conn.execute(
            """
            select kind, date, label, dimension, dimension_value, relative_change, likely_cause,
                cause_reasons, severity
            from monitoring.alert_outbox
            where (kind not in ('check_failure', 'weekly_report') and date between $start and $end)
               or (kind = 'check_failure' and cast(created_at as date) between $start and $end + 7)
            order by date nulls last, created_at, alert_id
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        for kind, day, label, dimension, value, rel, cause, reasons, severity in rows:
            reasons = json.loads(reasons) if isinstance(reasons, str) else reasons or []
            line = AlertLine(
                day,
                label or kind,
                f"{dimension}={value}" if dimension and dimension != "all" else "all",
                rel,
                cause or "",
                reasons[0] if reasons else "",
                severity or "",
            )
            (checks if kind == "check_failure" else alerts).append(line)
    quarantine = [
        (source, int(read), int(quarantined), quarantined / read if read else None)
        for source, read, quarantined in conn.execute(
            "select source, sum(rows_read), sum(rows_quarantined) from raw.ingestion_log "
            "where landing_date between ? and ? group by source order by source",
            [week.start, week.end],
        ).fetchall()
    ]
    warnings = []
    if _exists(conn, "ingestion_warnings", "raw"):
        warnings = conn.execute(
            "select source, kind, message from raw.ingestion_warnings where landing_date between ? and ? "
            "order by landing_date, source, file",
            [week.start, week.end],
        ).fetchall()
    return Health(alerts, checks, quarantine, warnings)


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


def _exists(conn, table: str, schema: str = "marts") -> bool:
    query = "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?"
    return conn.execute(query, [schema, table]).fetchone()[0] > 0


def week_days(week: Week) -> list[date]:
    return [week.start + timedelta(days=n) for n in range(7)]
