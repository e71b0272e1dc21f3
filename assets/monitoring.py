"""marts/metrics_daily -> monitoring/evaluations: the monitors, evaluated in every pipeline run.

The one path of metric-swing alerting: a run started by `ops-pipeline run`,
from the UI or by a sensor evaluates the monitors here, for the business dates
it rebuilt, and stores the evaluations and the new alerts (the outbox). The
sensors then only deliver what is pending, and announce failed runs and
failed blocking checks (sensors/alerts.py).

Every monitor is also an asset check of monitoring/evaluations, named after it
and never blocking: its result in each run says what the monitor saw (metric,
slice, date, value, baseline, status), so the Dagster UI has a page per monitor
with its history, and an alert links to it (alerts/message.py, monitor_url).
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from ops_pipeline.alerts.announcements import check_labels, failed_blocking_checks
from ops_pipeline.alerts.detection import ALERT
from ops_pipeline.alerts.message import EVALUATIONS_ASSET, format_change, format_value, monitor_check_name
from ops_pipeline.alerts.monitors import Monitor, MonitorConfigError, load_monitors
from ops_pipeline.alerts.outbox import SCHEMA, alert_id
from ops_pipeline.alerts.series import TOTAL
from ops_pipeline.alerts.service import ALL_DATES, dates_built_by_run, evaluate_and_deliver
from ops_pipeline.resources import Alerting
from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import WarehouseBusy, open_warehouse

EVALUATIONS_KEY = AssetKey(list(EVALUATIONS_ASSET))
METRICS_KEY = AssetKey(["marts", "metrics_daily"])
# A sensor tick (delivering, announcing) may hold the warehouse for a moment.
WAIT_FOR_LOCK_SECONDS = 30.0
MAX_TABLE_ROWS = 50
EVALUATION_COLUMNS = (
    "monitor, metric, date, dimension, dimension_value, value, expected, z, relative_change, decision, reason"
)
log = logging.getLogger(__name__)


def monitor_check_specs(monitors: Sequence[Monitor]) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            name=monitor_check_name(monitor.name),
            asset=EVALUATIONS_KEY,
            blocking=False,
            description=f"Monitor {monitor.name}: {monitor.display_name} ({monitor.metric}"
            + (f" by {monitor.dimension}" if monitor.watches_slices() else "")
            + f"), {monitor.severity}. Fails (a warning) when it raises an alert; see docs/alerting.md.",
            metadata={"metric": monitor.metric, "dimension": monitor.dimension, "severity": monitor.severity},
        )
        for monitor in monitors
    ]


def build_evaluation_asset(monitors_file: str | Path | None = None) -> AssetsDefinition:
    """The evaluation asset, with one check per monitor of `monitors_file` (default OPS_MONITORS,
    or monitors.yml). A monitors file that cannot be read declares no checks: the evaluation then
    fails with the file's error, as it did before."""
    try:
        declared = load_monitors(monitors_file or Settings.from_env().monitors_file)
    except MonitorConfigError as error:
        log.warning("no monitor checks on monitoring/evaluations: %s", error)
        declared = []

    @asset(
        key=EVALUATIONS_KEY,
        deps=[METRICS_KEY],
        group_name="monitoring",
        kinds={"duckdb"},
        check_specs=monitor_check_specs(declared),
        description=(
            "The monitors of monitors.yml (OPS_MONITORS) evaluated on marts.metrics_daily for the business "
            "dates the run rebuilt (its landing days plus dbt's lookback; every date after a full build): "
            "one row per monitor, date and slice in monitoring.evaluations (value, expected, robust z, "
            "relative change, volume, decision and reason), and every swing as one alert in "
            "monitoring.alert_outbox with its drill-down and likely cause, announced once whatever "
            "re-runs happen. Pending alerts are delivered to Slack (when configured) at once; the "
            "deliver_alerts sensor retries what is left. Each monitor is a check of this asset: what it "
            "saw in the run, failing (a warning) when it alerted. See docs/alerting.md."
        ),
    )
    def monitoring_evaluations(
        context: AssetExecutionContext, duckdb: DuckDBResource, alerting: Alerting
    ) -> MaterializeResult:
        dates = dates_built_by_run(context.run.tags)
        monitors = load_monitors(alerting.monitors_file)
        # Evidence for the likely cause: the blocking checks that failed in this run.
        failed = check_labels(failed_blocking_checks(context.instance, [context.run.run_id]))
        try:
            alerts = evaluate_and_deliver(
                duckdb.database,
                dates,
                monitors=monitors,
                target=alerting.slack_target(),
                failed_checks=failed,
                base_url=alerting.dagster_url,
                wait_seconds=WAIT_FOR_LOCK_SECONDS,
            )
            evaluations = stored_evaluations(duckdb.database, dates)
        except WarehouseBusy as error:
            raise Failure(
                description=f"{error}: the monitors were not evaluated; re-run monitoring/evaluations"
            ) from None
        new = [a for a in alerts if a.new]
        for alert in new:
            context.log.warning(alert.message)
        scope = "every date" if dates == ALL_DATES else f"{len(dates)} date(s)"
        context.log.info(f"evaluated {scope}: {len(alerts)} alert(s), {len(new)} new")
        by_check = {monitor_check_name(m.name): m for m in monitors}
        for name in sorted(set(by_check) - {monitor_check_name(m.name) for m in declared}):
            context.log.warning(f"monitor {name} has no check on monitoring/evaluations: reload the definitions")
        return MaterializeResult(
            metadata={
                "dates": scope if dates == ALL_DATES else f"{min(dates)} .. {max(dates)}",
                "alerts": len(alerts),
                "new_alerts": len(new),
                "alert_ids": MetadataValue.json([a.alert_id for a in alerts]),
                "new_alert_ids": MetadataValue.json([a.alert_id for a in new]),
            },
            check_results=[
                monitor_check_result(
                    spec.name,
                    by_check.get(spec.name),
                    [row for row in evaluations if monitor_check_name(row["monitor"]) == spec.name],
                )
                for spec in monitor_check_specs(declared)
            ],
        )

    return monitoring_evaluations


def stored_evaluations(warehouse: str, dates: Sequence | str) -> list[dict]:
    """The rows of monitoring.evaluations for these dates (ALL_DATES: every date), as the evaluation
    just stored them."""
    with open_warehouse(warehouse, read_only=True, wait_seconds=WAIT_FOR_LOCK_SECONDS) as conn:
        exists = conn.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = 'evaluations'", [SCHEMA]
        ).fetchone()[0]
        if not exists:
            return []
        where, params = ("true", []) if dates == ALL_DATES else ("date in (select unnest(?))", [list(dates)])
        cursor = conn.execute(
            f"select {EVALUATION_COLUMNS} from {SCHEMA}.evaluations where {where} "
            "order by monitor, date, dimension, dimension_value",
            params,
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def monitor_check_result(check_name: str, monitor: Monitor | None, rows: Sequence[dict]) -> AssetCheckResult:
    """What one monitor saw in the run: fails (severity WARN, never blocking) when it alerted. The
    metadata describe its alert (the latest, most extreme one), or else the latest date it
    evaluated; `evaluations` lists every alert and the slices of that date."""
    if monitor is None or not rows:
        why = "it is not in the monitors file any more" if monitor is None else "no date of the run to evaluate"
        return AssetCheckResult(
            check_name=check_name,
            asset_key=EVALUATIONS_KEY,
            passed=True,
            severity=AssetCheckSeverity.WARN,
            description=f"not evaluated in this run: {why}",
            metadata={"monitor": check_name, "status": "not_evaluated"},
        )
    fired = [r for r in rows if r["decision"] == ALERT]
    shown = max(rows, key=lambda r: (r["decision"] == ALERT, r["date"], abs(r["z"] or 0.0)))
    listed = fired + [r for r in rows if r["date"] == shown["date"] and r not in fired]
    metadata = {
        "monitor": monitor.name,
        "metric": monitor.metric,
        "slice": _slice(shown),
        "date": shown["date"].isoformat(),
        "value": _number(shown["value"]),
        "baseline": _number(shown["expected"]),
        "z": _number(shown["z"]),
        "relative_change": _number(shown["relative_change"]),
        "status": shown["decision"],
        "reason": shown["reason"] or "",
        "dates": f"{min(r['date'] for r in rows)}..{max(r['date'] for r in rows)}",
        "evaluated": len(rows),
        "alerts": len(fired),
        "alert_ids": MetadataValue.json(
            [alert_id(monitor.name, r["date"], r["dimension"], r["dimension_value"]) for r in fired]
        ),
        "evaluations": MetadataValue.md(_table(monitor, listed[:MAX_TABLE_ROWS])),
    }
    return AssetCheckResult(
        check_name=check_name,
        asset_key=EVALUATIONS_KEY,
        passed=not fired,
        severity=AssetCheckSeverity.WARN,
        description=_description(monitor, shown, len(fired)),
        metadata=metadata,
    )


def _description(monitor: Monitor, row: dict, alerts: int) -> str:
    seen = format_value(monitor.metric, row["value"])
    if row["expected"] is not None:
        seen += f" vs expected {format_value(monitor.metric, row['expected'])}"
    where = f"{monitor.display_name} [{_slice(row)}] on {row['date']}"
    if row["decision"] != ALERT:
        return f"{row['decision']}: {where}: {seen} ({row['reason']})"
    more = f" (and {alerts - 1} more alert{'s' if alerts > 2 else ''})" if alerts > 1 else ""
    return f"alert: {where}: {format_change(row['relative_change'])}, {seen}{more}"


def _table(monitor: Monitor, rows: Sequence[dict]) -> str:
    lines = [
        "| date | slice | value | baseline | change | z | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        z = "" if r["z"] is None else f"{r['z']:+.1f}"
        change = "" if r["relative_change"] is None else f"{r['relative_change']:+.1%}"
        lines.append(
            f"| {r['date']} | {_slice(r)} | {format_value(monitor.metric, r['value'])} "
            f"| {format_value(monitor.metric, r['expected'])} | {change} | {z} | {r['decision']} |"
        )
    return "\n".join(lines)


def _slice(row: dict) -> str:
    return TOTAL if row["dimension"] == TOTAL else f"{row['dimension']}={row['dimension_value']}"


def _number(value: float | None):
    return MetadataValue.null() if value is None else MetadataValue.float(float(value))
