"""The I/O entry point of alerting: evaluate the monitors on the warehouse, store, deliver.

evaluate_and_deliver is what the monitoring/evaluations asset calls in every
pipeline run (assets/monitoring.py), for the business dates the run rebuilt
(dates_built_by_run). Evaluation is a pure function of the warehouse
(marts.metrics_daily, raw ingestion records) and the outbox: evaluating the
same dates again stores the same evaluations and finds its alerts already in
the outbox, so nothing is announced twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ops_pipeline.alerts import evidence as evidence_source
from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.cause import likely_cause
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending
from ops_pipeline.alerts.detection import WINDOW_DAYS
from ops_pipeline.alerts.evaluation import Evaluation, evaluate_monitors
from ops_pipeline.alerts.message import monitor_url, render
from ops_pipeline.alerts.monitors import Monitor, load_monitors
from ops_pipeline.alerts.outbox import LOCAL, METRIC, PENDING, Alert
from ops_pipeline.alerts.series import COLUMNS, MetricStore
from ops_pipeline.partitions import run_window
from ops_pipeline.settings import DEFAULT_DAGSTER_URL, lookback_days
from ops_pipeline.warehouse import open_warehouse

log = logging.getLogger("ops_pipeline.alerts")
SPARKLINE_DAYS = 14
ALL_DATES = "all"  # dates=ALL_DATES: every date of marts.metrics_daily (after a full build)


def built_dates(first_day: date | str | None, last_day: date | str | None) -> list[date] | str:
    """The business dates a pipeline run over landing days [first_day, last_day] (re)built:
    ALL_DATES for a full build (no window)."""
    if not first_day or not last_day:
        return ALL_DATES
    first = date.fromisoformat(first_day) if isinstance(first_day, str) else first_day
    last = date.fromisoformat(last_day) if isinstance(last_day, str) else last_day
    first -= timedelta(days=lookback_days())
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def dates_built_by_run(run_tags: Mapping[str, str]) -> list[date] | str:
    """The business dates a pipeline run rebuilt, from its partition tags (the landing-day window
    plus dbt's lookback); ALL_DATES for a run without them (a full build)."""
    window = run_window(run_tags)
    return built_dates(window["min_date"], window["max_date"])


def evaluate_and_deliver(
    warehouse_path: str | Path,
    dates: Iterable[date] | str | None = None,
    *,
    monitors: Sequence[Monitor] | None = None,
    target: SlackTarget | None = None,
    failed_checks: Sequence[str] = (),
    base_url: str = DEFAULT_DAGSTER_URL,
    deliver: bool = True,
    now: datetime | None = None,
    wait_seconds: float = 0.0,
) -> list[Alert]:
    """Evaluate the monitors for `dates` (default: the last date of marts.metrics_daily; ALL_DATES:
    every date), store the evaluations and new alerts, deliver what is pending to `target` (None:
    Slack is off, alerts stay local), and return every alert that fires on those dates (`new`
    False for the ones announced before). Raises warehouse.WarehouseBusy when the warehouse is
    locked."""
    monitors = load_monitors() if monitors is None else list(monitors)
    now = now or outbox.now_utc()

    with open_warehouse(warehouse_path, read_only=True, wait_seconds=wait_seconds) as conn:
        if not _has_metrics(conn):
            log.info("no marts.metrics_daily in the warehouse yet: nothing to evaluate")
            return []
        days = _dates_to_evaluate(conn, dates)
        if not days:
            return []
        store = load_store(conn, days, monitors)
        evaluations = evaluate_monitors(store, monitors, days)
        fired = [e for e in evaluations if e.fired]
        evidence_by_day = {
            day: evidence_source.gather(store, day, conn, failed_checks) for day in sorted({e.date for e in fired})
        }
    alerts = [_alert(store, e, evidence_by_day[e.date], base_url, LOCAL if target is None else PENDING) for e in fired]

    with open_warehouse(warehouse_path, wait_seconds=wait_seconds) as conn:
        outbox.ensure_schema(conn)
        outbox.save_evaluations(conn, [_evaluation_row(e, now) for e in evaluations])
        stored = outbox.add_alerts(conn, alerts, now)
    added = [a for a in stored if a.new]
    outbox.append_jsonl(warehouse_path, added)
    for alert in added:
        log.warning("ALERT %s", alert.message)

    if deliver and target is not None:
        report = deliver_pending(warehouse_path, target, wait_seconds=wait_seconds)
        if report.sent or report.retrying or report.failed:
            log.info("Slack delivery: %s", report.summary())
        stored = outbox.refreshed(warehouse_path, stored, wait_seconds=max(wait_seconds, 10.0))
    return stored


def _has_metrics(conn) -> bool:
    return bool(
        conn.execute(
            "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = 'metrics_daily'"
        ).fetchone()[0]
    )


def _dates_to_evaluate(conn, dates: Iterable[date] | str | None) -> list[date]:
    if dates is None:
        last = conn.execute("select max(date) from marts.metrics_daily").fetchone()[0]
        return [last] if last else []
    if dates == ALL_DATES:
        return [row[0] for row in conn.execute("select distinct date from marts.metrics_daily order by 1").fetchall()]
    wanted = sorted(set(dates))
    if not wanted:
        return []
    present = {
        row[0]
        for row in conn.execute(
            "select distinct date from marts.metrics_daily where date between ? and ?", [wanted[0], wanted[-1]]
        ).fetchall()
    }
    return [d for d in wanted if d in present]


def load_store(conn, days: Sequence[date], monitors: Sequence[Monitor]) -> MetricStore:
    metrics = sorted({m.metric for m in monitors} | set(evidence_source.EVIDENCE_METRICS))
    frame = conn.execute(
        f"select {', '.join(COLUMNS)} from marts.metrics_daily "
        "where date between ? and ? and metric in (select unnest(?))",
        [min(days) - timedelta(days=WINDOW_DAYS), max(days), metrics],
    ).df()
    return MetricStore.from_frame(frame)


def _evaluation_row(evaluation: Evaluation, now: datetime) -> dict:
    d = evaluation.detection
    return {
        "monitor": evaluation.monitor.name,
        "metric": evaluation.monitor.metric,
        "date": evaluation.date,
        "dimension": evaluation.dimension,
        "dimension_value": evaluation.dimension_value,
        "value": d.value,
        "expected": d.expected,
        "z": d.z,
        "relative_change": d.relative_change,
        "volume": d.volume,
        "history_days": d.history_days,
        "decision": d.decision,
        "reason": d.reason,
        "evaluated_at": now,
    }


def _alert(store: MetricStore, evaluation: Evaluation, evidence, base_url: str, status: str) -> Alert:
    monitor, d = evaluation.monitor, evaluation.detection
    cause = likely_cause(evidence)
    series = store.series(monitor.metric, evaluation.dimension, evaluation.dimension_value)
    spark = [series.get(evaluation.date - timedelta(days=back)) for back in range(SPARKLINE_DAYS - 1, -1, -1)]
    alert = Alert(
        alert_id=outbox.alert_id(monitor.name, evaluation.date, evaluation.dimension, evaluation.dimension_value),
        kind=METRIC,
        monitor=monitor.name,
        metric=monitor.metric,
        label=monitor.display_name,
        severity=monitor.severity,
        owner=monitor.owner or None,
        date=evaluation.date,
        dimension=evaluation.dimension,
        dimension_value=evaluation.dimension_value,
        value=d.value,
        expected=d.expected,
        relative_change=d.relative_change,
        z=d.z,
        likely_cause=cause.kind,
        cause_reasons=list(cause.reasons),
        drill_down=evaluation.drill_down.as_dict() if evaluation.drill_down else None,
        sparkline=spark,
        link=monitor_url(base_url, monitor.name),
        status=status,
    )
    return render(alert)


def alerts_by_id(
    warehouse_path: str | Path, alert_ids: Sequence[str], new_ids: Sequence[str] = (), wait_seconds: float = 10.0
) -> list[Alert]:
    """The alerts of the outbox with these ids, as stored now, in the order given; `new` True for
    new_ids (the ones their evaluation added). How the CLI reads the alerts of its run."""
    if not alert_ids:
        return []
    with open_warehouse(warehouse_path, read_only=True, wait_seconds=wait_seconds) as conn:
        stored = outbox.existing(conn, alert_ids)
    new = set(new_ids)
    return [replace(stored[i], new=i in new) for i in alert_ids if i in stored]


def metrics_frame(warehouse_path: str | Path) -> pd.DataFrame:
    """All of marts.metrics_daily (for the detection-quality backtest)."""
    with open_warehouse(warehouse_path, read_only=True) as conn:
        return conn.execute(f"select {', '.join(COLUMNS)} from marts.metrics_daily").df()
