"""The alerts of one finished pipeline run, as `ops-pipeline run` reports them.

The run's monitoring/evaluations asset evaluated the monitors and stored the
alerts (its materialisation names their ids); here the run's failure and its
failed blocking checks are announced, with the sensors' ids, so a Dagster
daemon watching the same instance never repeats what the CLI announced (nor
the other way round), and the alerts are read back from the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetKey, DagsterEventType, DagsterInstance

from ops_pipeline.alerts.announcements import check_alerts, enqueue, failed_blocking_checks, run_failure_alert
from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.alerts.outbox import Alert
from ops_pipeline.alerts.service import alerts_by_id
from ops_pipeline.settings import Settings

EVALUATIONS_KEY = AssetKey(["monitoring", "evaluations"])
WAIT_FOR_LOCK_SECONDS = 30.0  # a sensor tick may hold the warehouse for a moment


def evaluation_metadata(instance: DagsterInstance, run_id: str) -> dict | None:
    """The metadata of the run's materialisation of monitoring/evaluations (None: not materialised)."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.asset_key == EVALUATIONS_KEY:
            return {name: value.value for name, value in materialization.metadata.items()}
    return None


def alerts_of_run(
    settings: Settings,
    instance: DagsterInstance | None,
    run_id: str,
    job_name: str,
    success: bool,
    failures: Sequence[str] = (),
) -> list[Alert]:
    """Announce the run's failure and failed blocking checks; return them with the alerts its
    evaluation raised (`new` False for what was announced before). Raises WarehouseBusy."""
    target = SlackTarget.from_settings(settings)
    secrets = target.secrets() if target else ()
    alerts: list[Alert] = []
    if not success:
        failure = run_failure_alert(run_id, job_name, list(failures), settings.dagster_url, secrets)
        alerts += enqueue(settings.warehouse, [failure], target, wait_seconds=WAIT_FOR_LOCK_SECONDS, spool_on_busy=True)
    if instance is None:  # the run never started: nothing else to read
        return alerts
    failed = failed_blocking_checks(instance, [run_id])
    if failed:
        alerts += enqueue(
            settings.warehouse,
            check_alerts(failed, settings.dagster_url, secrets),
            target,
            wait_seconds=WAIT_FOR_LOCK_SECONDS,
        )
    evaluated = evaluation_metadata(instance, run_id)
    if evaluated:
        alerts += alerts_by_id(
            settings.warehouse, evaluated["alert_ids"], evaluated["new_alert_ids"], wait_seconds=WAIT_FOR_LOCK_SECONDS
        )
    return alerts
