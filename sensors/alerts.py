"""Sensors that drive alerting (shared/spec/alerts.md, Triggering and Delivery).

* metric_swing_alerts: after marts/metrics_daily is materialised (cursor:
  the last materialisation seen), evaluates the monitors for the dates the
  run rebuilt (its landing-day window from the partition-range tags, plus
  dbt's lookback; every date after a full build) with evaluate_and_deliver,
  the function `ops-pipeline run` calls; on every tick, delivers what is
  still pending in the outbox.
* announce_run_failures: a run failure becomes an outbox entry, once per run.
* announce_failed_checks: a failed blocking asset check becomes an outbox
  entry, once per run and check (cursor: the last finished run seen).

A tick that finds the warehouse locked by a writer skips quietly, without
moving its cursor, and the next tick tries again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusChangeRecordsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from ops_pipeline.alerts.announcements import (
    check_alerts,
    check_labels,
    enqueue,
    failed_blocking_checks,
    run_failure_alert,
)
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending
from ops_pipeline.alerts.evaluate import ALL_DATES, built_dates, evaluate_and_deliver
from ops_pipeline.alerts.monitors import load_monitors
from ops_pipeline.alerts.store import WarehouseBusy
from ops_pipeline.partitions import run_window
from ops_pipeline.settings import Settings

METRICS_ASSET_KEY = AssetKey(["marts", "metrics_daily"])
BATCH = 500
BUSY = "warehouse busy (a run is writing); trying again next tick"


def build_alert_sensors(settings: Settings | None = None, monitors_path: str | Path | None = None,
                        default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING) -> list[SensorDefinition]:
    warehouse = (settings or Settings.from_env()).warehouse
    return [
        metric_swing_sensor(warehouse, monitors_path, default_status),
        run_failure_announcer(warehouse, default_status),
        failed_check_announcer(warehouse, default_status),
    ]


def _cursor(context: SensorEvaluationContext) -> int | None:
    return int(context.cursor) if context.cursor else None


def metric_swing_sensor(warehouse: Path, monitors_path: str | Path | None = None,
                        default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING) -> SensorDefinition:
    @sensor(name="metric_swing_alerts", minimum_interval_seconds=60, default_status=default_status,
            description="Evaluates the monitors (monitors.yml) for the dates marts/metrics_daily was just "
                        "materialised for, and delivers pending alerts every tick.")
    def metric_swing_alerts(context: SensorEvaluationContext):
        result = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=METRICS_ASSET_KEY, after_storage_id=_cursor(context)),
            limit=BATCH, ascending=True,
        )
        records = list(result.records)
        try:
            if records:
                dates = dates_materialised(context.instance, records)
                failed = check_labels(failed_blocking_checks(context.instance, {r.run_id for r in records}))
                alerts = evaluate_and_deliver(warehouse, dates, monitors=load_monitors(monitors_path),
                                              failed_checks=failed)
                context.update_cursor(str(records[-1].storage_id))
                new = [a for a in alerts if a.new]
                for alert in new:
                    context.log.warning(alert.message)
                scope = "every date" if dates == ALL_DATES else f"{len(dates)} date(s)"
                return SkipReason(f"evaluated {scope}: {len(alerts)} alert(s), {len(new)} new")
            report = deliver_pending(warehouse, SlackTarget.from_env())
        except WarehouseBusy:
            return SkipReason(BUSY)
        for error in report.errors:
            context.log.warning(error)
        return SkipReason(f"no new materialisation of marts/metrics_daily; delivery: {report.summary()}")

    return metric_swing_alerts


def dates_materialised(instance, records) -> list[date] | str:
    """The business dates the materialisations rebuilt: a partition's date, or the landing-day
    window of the run's partition-range tags (plus dbt's lookback); ALL_DATES for a full build."""
    dates: set[date] = set()
    for record in records:
        if record.partition_key:
            dates.add(date.fromisoformat(record.partition_key))
            continue
        run = instance.get_run_by_id(record.run_id) if record.run_id else None
        window = run_window(run.tags if run else {})
        built = built_dates(window["min_date"], window["max_date"])
        if built == ALL_DATES:
            return ALL_DATES
        dates.update(built)
    return sorted(dates)


def run_failure_announcer(warehouse: Path,
                          default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING) -> SensorDefinition:
    @run_failure_sensor(name="announce_run_failures", default_status=default_status,
                        description="Announces every failed run once (Slack or the local outbox).")
    def announce_run_failures(context: RunFailureSensorContext):
        run = context.dagster_run
        reasons = [context.failure_event.message] if context.failure_event.message else []
        for step_event in context.get_step_failure_events():
            reasons.append(f"{step_event.step_key}: {_root_cause(step_event.step_failure_data.error)}")
        # A failure is seen once by this sensor: a locked warehouse spools it rather than lose it.
        enqueue(warehouse, [run_failure_alert(run.run_id, run.job_name, reasons)], spool_on_busy=True)

    return announce_run_failures


def _root_cause(error) -> str:
    """The innermost error of a step failure ('Error occurred while executing op' says little)."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def failed_check_announcer(warehouse: Path,
                           default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING) -> SensorDefinition:
    @sensor(name="announce_failed_checks", minimum_interval_seconds=60, default_status=default_status,
            description="Announces every failed blocking asset check once (Slack or the local outbox).")
    def announce_failed_checks(context: SensorEvaluationContext):
        # Runs that finished since the cursor (one position per end state), then their check evaluations.
        cursor = json.loads(context.cursor) if context.cursor else {}
        finished: dict[str, list] = {}
        for state, event_type in (("success", DagsterEventType.RUN_SUCCESS), ("failure", DagsterEventType.RUN_FAILURE)):
            finished[state] = list(context.instance.fetch_run_status_changes(
                RunStatusChangeRecordsFilter(event_type, after_storage_id=cursor.get(state)),
                limit=BATCH, ascending=True,
            ).records)
        runs = {record.run_id for records in finished.values() for record in records}
        if not runs:
            return SkipReason("no run finished since the last tick")
        failed = failed_blocking_checks(context.instance, runs)
        try:
            if failed:
                enqueue(warehouse, check_alerts(failed))
        except WarehouseBusy:
            return SkipReason(BUSY)
        context.update_cursor(json.dumps({
            state: records[-1].storage_id if records else cursor.get(state) for state, records in finished.items()}))
        return SkipReason(f"{len(runs)} finished run(s), {len(failed)} failed blocking check(s)")

    return announce_failed_checks
