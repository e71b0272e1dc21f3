"""Sensors of alerting: delivery and pipeline announcements (docs/alerting.md, Triggering and Delivery).

The monitors are evaluated by the monitoring/evaluations asset in every
pipeline run (assets/monitoring.py); these sensors never evaluate.

* deliver_alerts: every tick, delivers what is pending in the outbox (a send
  that failed is retried here).
* announce_run_failures: a run failure becomes an outbox entry, once per run.
* announce_failed_checks: a failed blocking asset check becomes an outbox
  entry, once per run and check (cursor: the last finished run seen).

A tick that finds the warehouse locked by a writer skips quietly, without
moving its cursor, and the next tick tries again.
"""

from __future__ import annotations

import json

from dagster import (
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

from ops_pipeline.alerts.announcements import check_alerts, enqueue, failed_blocking_checks, run_failure_alert
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending
from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import WarehouseBusy

BATCH = 500
BUSY = "warehouse busy (a run is writing); trying again next tick"


def build_alert_sensors(
    settings: Settings, default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING
) -> list[SensorDefinition]:
    return [
        delivery_sensor(settings, default_status),
        run_failure_announcer(settings, default_status),
        failed_check_announcer(settings, default_status),
    ]


def delivery_sensor(
    settings: Settings, default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING
) -> SensorDefinition:
    @sensor(
        name="deliver_alerts",
        minimum_interval_seconds=60,
        default_status=default_status,
        description="Delivers the alerts pending in the outbox (monitoring.alert_outbox) every tick; "
        "the monitoring/evaluations asset of each pipeline run puts them there.",
    )
    def deliver_alerts(context: SensorEvaluationContext):
        try:
            report = deliver_pending(settings.warehouse, SlackTarget.from_settings(settings))
        except WarehouseBusy:
            return SkipReason(BUSY)
        for error in report.errors:
            context.log.warning(error)
        return SkipReason(f"delivery: {report.summary()}")

    return deliver_alerts


def run_failure_announcer(
    settings: Settings, default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING
) -> SensorDefinition:
    @run_failure_sensor(
        name="announce_run_failures",
        default_status=default_status,
        description="Announces every failed run once (Slack or the local outbox).",
    )
    def announce_run_failures(context: RunFailureSensorContext):
        run = context.dagster_run
        reasons = [context.failure_event.message] if context.failure_event.message else []
        for step_event in context.get_step_failure_events():
            reasons.append(f"{step_event.step_key}: {_root_cause(step_event.step_failure_data.error)}")
        reasons += _monitoring_verdicts(context.instance, run.run_id)
        target = SlackTarget.from_settings(settings)
        alert = run_failure_alert(
            run.run_id, run.job_name, reasons, settings.dagster_url, target.secrets() if target else ()
        )
        # A failure is seen once by this sensor: a locked warehouse spools it rather than lose it.
        enqueue(settings.warehouse, [alert], target, spool_on_busy=True)

    return announce_run_failures


def _monitoring_verdicts(instance, run_id: str) -> list[str]:
    """Why Dagster marked the run failed from outside it: its code server saw the run's process
    end (killed), or run monitoring found it gone or timed out."""
    return [
        entry.message
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
        if entry.message.startswith(("Run execution process for", "Detected run worker status", "Run timed out"))
    ]


def _root_cause(error) -> str:
    """The innermost error of a step failure ('Error occurred while executing op' says little)."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def failed_check_announcer(
    settings: Settings, default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING
) -> SensorDefinition:
    @sensor(
        name="announce_failed_checks",
        minimum_interval_seconds=60,
        default_status=default_status,
        description="Announces every failed blocking asset check once (Slack or the local outbox).",
    )
    def announce_failed_checks(context: SensorEvaluationContext):
        # Runs that finished since the cursor (one position per end state), then their check evaluations.
        cursor = json.loads(context.cursor) if context.cursor else {}
        finished: dict[str, list] = {}
        for state, event_type in (("success", DagsterEventType.RUN_SUCCESS), ("failure", DagsterEventType.RUN_FAILURE)):
            finished[state] = list(
                context.instance.fetch_run_status_changes(
                    RunStatusChangeRecordsFilter(event_type, after_storage_id=cursor.get(state)),
                    limit=BATCH,
                    ascending=True,
                ).records
            )
        runs = {record.run_id for records in finished.values() for record in records}
        if not runs:
            return SkipReason("no run finished since the last tick")
        failed = failed_blocking_checks(context.instance, runs)
        try:
            if failed:
                target = SlackTarget.from_settings(settings)
                alerts = check_alerts(failed, settings.dagster_url, target.secrets() if target else ())
                enqueue(settings.warehouse, alerts, target)
        except WarehouseBusy:
            return SkipReason(BUSY)
        context.update_cursor(
            json.dumps(
                {state: records[-1].storage_id if records else cursor.get(state) for state, records in finished.items()}
            )
        )
        return SkipReason(f"{len(runs)} finished run(s), {len(failed)} failed blocking check(s)")

    return announce_failed_checks
