"""What `ops-pipeline run` does once its job has finished: the same calls the sensors make.

A failed run and its failed blocking checks are announced, and the monitors
are evaluated for the business dates the run rebuilt. The ids are the
sensors' ids, so a Dagster daemon watching the same instance never repeats
what the CLI already announced (nor the other way round).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from dagster import DagsterInstance

from ops_pipeline.alerts.announcements import (
    check_alerts,
    check_labels,
    enqueue,
    failed_blocking_checks,
    run_failure_alert,
)
from ops_pipeline.alerts.evaluate import built_dates, evaluate_and_deliver
from ops_pipeline.alerts.outbox import Alert

WAIT_FOR_LOCK_SECONDS = 30.0  # a sensor tick may hold the warehouse for a moment


def alerts_after_run(warehouse: str | Path, instance: DagsterInstance, run_id: str, job_name: str,
                     first_day: date | None, last_day: date | None, success: bool,
                     failures: Sequence[str] = (), metrics_built: bool = True) -> list[Alert]:
    """Announce and evaluate; returns every alert concerning the run (`new` False if announced before)."""
    alerts: list[Alert] = []
    if not success:
        alerts += enqueue(warehouse, [run_failure_alert(run_id, job_name, list(failures))],
                          wait_seconds=WAIT_FOR_LOCK_SECONDS, spool_on_busy=True)
    failed = failed_blocking_checks(instance, [run_id])
    if failed:
        alerts += enqueue(warehouse, check_alerts(failed), wait_seconds=WAIT_FOR_LOCK_SECONDS)
    if metrics_built:
        alerts += evaluate_and_deliver(warehouse, built_dates(first_day, last_day),
                                       failed_checks=check_labels(failed), wait_seconds=WAIT_FOR_LOCK_SECONDS)
    return alerts
