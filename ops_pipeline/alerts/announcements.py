"""Pipeline announcements: failed runs and failed blocking data-quality checks.

They go through the same outbox as metric swings (deterministic ids: once per
run, once per run and check), with `pipeline` as their cause.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending, redact, send
from ops_pipeline.alerts.message import check_url, render, run_url
from ops_pipeline.alerts.outbox import CHECK_FAILURE, FAILED, LOCAL, PENDING, RUN_FAILURE, SENT, UNSTORED, Alert
from ops_pipeline.settings import DEFAULT_DAGSTER_URL
from ops_pipeline.warehouse import WarehouseBusy, open_warehouse, out_of_space

log = logging.getLogger("ops_pipeline.alerts")
MAX_REASON = 500


def run_failure_alert(
    run_id: str, job_name: str, reasons: Sequence[str], base_url: str = DEFAULT_DAGSTER_URL, secrets: Sequence[str] = ()
) -> Alert:
    """The announcement of a failed run; `secrets` (the Slack target's) are redacted from the reasons."""
    alert = Alert(
        alert_id=outbox.alert_id(RUN_FAILURE, run_id),
        kind=RUN_FAILURE,
        monitor=f"run_failure:{job_name}",
        label=f"Run {run_id[:8]} of job {job_name} failed",
        severity="critical",
        likely_cause="pipeline",
        cause_reasons=[redact(r, secrets)[:MAX_REASON] for r in reasons] or ["the run failed; see its logs"],
        link=run_url(base_url, run_id),
    )
    return render(alert)


def check_failure_alert(
    run_id: str,
    asset_path: Sequence[str],
    check_name: str,
    description: str | None = None,
    partition: str | None = None,
    base_url: str = DEFAULT_DAGSTER_URL,
    secrets: Sequence[str] = (),
) -> Alert:
    asset = "/".join(asset_path)
    reasons = [
        f"check {check_name} on {asset} failed in run {run_id[:8]}" + (f" (partition {partition})" if partition else "")
    ]
    if description:
        reasons.append(redact(description, list(secrets))[:MAX_REASON])
    alert = Alert(
        alert_id=outbox.alert_id(CHECK_FAILURE, run_id, asset, check_name),
        kind=CHECK_FAILURE,
        monitor=f"check:{asset}:{check_name}",
        label=f"Blocking check failed: {check_name} on {asset}",
        severity="critical",
        likely_cause="pipeline",
        cause_reasons=reasons,
        link=check_url(base_url, asset_path, check_name),
    )
    return render(alert)


def is_failed_blocking(evaluation) -> bool:
    """A failed check evaluation that blocks downstream assets (dbt tests of severity error)."""
    if evaluation is None or evaluation.passed:
        return False
    if evaluation.blocking is not None:
        return bool(evaluation.blocking)
    return evaluation.severity == AssetCheckSeverity.ERROR


def failed_blocking_checks(instance: DagsterInstance, run_ids: Iterable[str]) -> list[tuple[str, object]]:
    """(run_id, AssetCheckEvaluation) of every failed blocking check in these runs."""
    found = []
    for run_id in sorted(set(run_ids)):
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.asset_check_evaluation_data
            if is_failed_blocking(evaluation):
                found.append((run_id, evaluation))
    return found


def check_labels(failed: Sequence[tuple[str, object]]) -> list[str]:
    """Evidence strings for cause.py: 'marts/metrics_daily: check_name'."""
    return sorted({f"{e.asset_key.to_user_string()}: {e.check_name}" for _, e in failed})


def check_alerts(
    failed: Sequence[tuple[str, object]], base_url: str = DEFAULT_DAGSTER_URL, secrets: Sequence[str] = ()
) -> list[Alert]:
    return [
        check_failure_alert(run_id, e.asset_key.path, e.check_name, e.description, e.partition, base_url, secrets)
        for run_id, e in failed
    ]


def enqueue(
    warehouse_path: str | Path,
    alerts: Sequence[Alert],
    target: SlackTarget | None,
    wait_seconds: float = 5.0,
    spool_on_busy: bool = False,
    deliver: bool = True,
) -> list[Alert]:
    """Store announcements in the outbox (once each) and deliver what is pending.

    With spool_on_busy, a locked warehouse puts them in the spool file for the
    next delivery instead of raising WarehouseBusy (a run-failure sensor sees
    each failure once, so it cannot wait for the next tick)."""
    status = LOCAL if target is None else PENDING
    prepared = [Alert(**{**a.as_record(), "status": status}) for a in alerts]
    try:
        try:
            with open_warehouse(warehouse_path, wait_seconds=wait_seconds) as conn:
                outbox.ensure_schema(conn)
                stored = outbox.add_alerts(conn, prepared)
        except WarehouseBusy:
            if not spool_on_busy:
                raise
            for alert in prepared:
                outbox.spool(alert, warehouse_path)
            log.warning("warehouse busy: %d announcement(s) spooled for the next delivery", len(prepared))
            return prepared
    except Exception as error:
        if not out_of_space(error):
            raise
        return _without_outbox(prepared, target)
    added = [a for a in stored if a.new]
    outbox.append_jsonl(warehouse_path, added)
    for alert in added:
        log.warning("ALERT %s", alert.message)
    if deliver and target is not None and added:
        try:
            deliver_pending(warehouse_path, target)
            stored = outbox.refreshed(warehouse_path, stored)
        except WarehouseBusy:
            pass  # the alert sensor delivers on its next tick
    return stored


def _without_outbox(alerts: Sequence[Alert], target: SlackTarget | None) -> list[Alert]:
    """The warehouse's disk is full, so neither the outbox nor its spool file can keep the
    announcements: each is logged and sent to Slack at once, once (a later announcement of the same
    alert, once there is room, may repeat it: better twice than never)."""
    sent = []
    for alert in alerts:
        log.warning("ALERT %s (the outbox cannot be written: the disk is full)", alert.message)
        if target is None:
            sent.append(replace(alert, status=UNSTORED, new=True))
            continue
        result = send(target, alert)
        if not result.ok:
            log.warning("ALERT %s not sent to Slack: %s", alert.alert_id, result.error)
        sent.append(replace(alert, status=SENT if result.ok else FAILED, last_error=result.error, new=True))
    return sent
