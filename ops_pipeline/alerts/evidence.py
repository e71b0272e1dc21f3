"""Gather the evidence cause.py judges, for one date, from the warehouse (I/O at the edge).

* tracking completeness (tracked pay_success / backend paid orders) and backend
  paid orders, total and per platform, against their expected values;
* event volume per platform (marts.metrics_daily) and per platform x app_version
  (raw.events, against the median of the 7 days before: a version's volume
  fades slowly during a roll-out, a broken SDK drops it overnight);
* the quarantine rate of the landing day (raw.quarantine / raw.ingestion_log);
* source files missing, or nearly empty, for the landing day (raw.ingestion_log).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from statistics import median

import duckdb

from ops_pipeline.alerts.cause import Evidence
from ops_pipeline.alerts.detection import baseline, relative_change
from ops_pipeline.alerts.series import TOTAL, MetricStore

EVIDENCE_METRICS = ("tracking_completeness", "paid_orders", "events")
# Ignore slices too small to judge: expected backend paid orders / events per day.
MIN_PAID_ORDERS = 5.0
MIN_EVENTS = 50.0
# A source that delivered on this many of the 7 days before D is expected on D too.
USUAL_DELIVERY_DAYS = 6
NEARLY_EMPTY_SHARE = 0.2
QUARANTINE_HISTORY_DAYS = 14


def gather(
    store: MetricStore, day: date, conn: duckdb.DuckDBPyConnection | None = None, failed_checks: Sequence[str] = ()
) -> Evidence:
    completeness, paid_orders = _completeness(store, day)
    volumes = _platform_volumes(store, day)
    rate = usual_rate = None
    missing: list[str] = []
    if conn is not None and _has_table(conn, "raw", "ingestion_log"):
        volumes |= _app_version_volumes(conn, day)
        rate, usual_rate = _quarantine_rates(conn, day)
        missing = _missing_sources(conn, day)
    return Evidence(completeness, paid_orders, volumes, rate, usual_rate, tuple(missing), tuple(failed_checks))


def _change(store: MetricStore, metric: str, dimension: str, value_name: str, day: date) -> tuple[float | None, float]:
    series = store.series(metric, dimension, value_name)
    base = baseline(series, day)
    value = series.get(day)
    if value is None or not base.sufficient:
        return None, 0.0
    return relative_change(value, base.expected), base.expected


def _completeness(store: MetricStore, day: date) -> tuple[dict[str, float], dict[str, float]]:
    completeness, paid_orders = {}, {}
    slices = [(TOTAL, TOTAL)] + [("platform", p) for p in store.slices("tracking_completeness", "platform")]
    for dimension, value_name in slices:
        backend, expected_orders = _change(store, "paid_orders", dimension, value_name, day)
        tracked, _ = _change(store, "tracking_completeness", dimension, value_name, day)
        if backend is None or tracked is None or expected_orders < MIN_PAID_ORDERS:
            continue
        completeness[value_name] = tracked
        paid_orders[value_name] = backend
    return completeness, paid_orders


def _platform_volumes(store: MetricStore, day: date) -> dict[str, float]:
    volumes = {}
    for platform in store.slices("events", "platform"):
        change, expected = _change(store, "events", "platform", platform, day)
        if change is not None and expected >= MIN_EVENTS:
            volumes[f"platform {platform}"] = change
    return volumes


def _has_table(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def _app_version_volumes(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, float]:
    rows = conn.execute(
        "select platform, coalesce(app_version, '(none)'), _landing_date, count(*) from raw.events "
        "where _landing_date between ? and ? group by all",
        [day - timedelta(days=7), day],
    ).fetchall()
    counts: dict[tuple[str, str], dict[date, int]] = {}
    for platform, version, landing_date, count in rows:
        counts.setdefault((platform, version), {})[landing_date] = count
    volumes = {}
    for (platform, version), by_day in counts.items():
        before = [by_day.get(day - timedelta(days=k), 0) for k in range(1, 8)]
        usual = median(before)
        if usual >= MIN_EVENTS:
            volumes[f"app_version {platform} {version}"] = relative_change(by_day.get(day, 0), usual)
    return volumes


def _quarantine_rates(conn: duckdb.DuckDBPyConnection, day: date) -> tuple[float | None, float | None]:
    rows = dict(
        conn.execute(
            "select landing_date, sum(rows_quarantined) / nullif(sum(rows_read), 0) from raw.ingestion_log "
            "where landing_date between ? and ? group by landing_date",
            [day - timedelta(days=QUARANTINE_HISTORY_DAYS), day],
        ).fetchall()
    )
    history = [float(r) for d, r in rows.items() if d < day and r is not None]
    today = rows.get(day)
    return (None if today is None else float(today)), (median(history) if history else None)


def _missing_sources(conn: duckdb.DuckDBPyConnection, day: date) -> list[str]:
    rows = conn.execute(
        "select source, landing_date, sum(rows_loaded) from raw.ingestion_log "
        "where landing_date between ? and ? group by all",
        [day - timedelta(days=7), day],
    ).fetchall()
    loaded: dict[str, dict[date, int]] = {}
    for source, landing_date, count in rows:
        loaded.setdefault(source, {})[landing_date] = int(count or 0)
    missing = []
    for source, by_day in sorted(loaded.items()):
        before = [by_day[d] for d in by_day if d < day]
        if len(before) < USUAL_DELIVERY_DAYS:
            continue
        if day not in by_day:
            missing.append(f"{source}: no file for {day}")
        elif median(before) >= MIN_EVENTS and by_day[day] < NEARLY_EMPTY_SHARE * median(before):
            missing.append(f"{source}: only {by_day[day]:,} rows for {day} (usually ~{median(before):,.0f})")
    return missing
