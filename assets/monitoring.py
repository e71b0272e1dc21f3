"""marts/metrics_daily -> monitoring/evaluations: the monitors, evaluated in every pipeline run.

The one path of metric-swing alerting: a run started by `ops-pipeline run`,
from the UI or by a sensor evaluates the monitors here, for the business dates
it rebuilt, and stores the evaluations and the new alerts (the outbox). The
sensors then only deliver what is pending, and announce failed runs and
failed blocking checks (sensors/alerts.py).
"""

from dagster import (
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
from ops_pipeline.alerts.monitors import load_monitors
from ops_pipeline.alerts.service import ALL_DATES, dates_built_by_run, evaluate_and_deliver
from ops_pipeline.resources import Alerting
from ops_pipeline.warehouse import WarehouseBusy

EVALUATIONS_KEY = AssetKey(["monitoring", "evaluations"])
METRICS_KEY = AssetKey(["marts", "metrics_daily"])
# A sensor tick (delivering, announcing) may hold the warehouse for a moment.
WAIT_FOR_LOCK_SECONDS = 30.0


def build_evaluation_asset() -> AssetsDefinition:
    @asset(
        key=EVALUATIONS_KEY,
        deps=[METRICS_KEY],
        group_name="monitoring",
        kinds={"duckdb"},
        description=(
            "The monitors of monitors.yml (OPS_MONITORS) evaluated on marts.metrics_daily for the business "
            "dates the run rebuilt (its landing days plus dbt's lookback; every date after a full build): "
            "one row per monitor, date and slice in monitoring.evaluations (value, expected, robust z, "
            "relative change, volume, decision and reason), and every swing as one alert in "
            "monitoring.alert_outbox with its drill-down and likely cause, announced once whatever "
            "re-runs happen. Pending alerts are delivered to Slack (when configured) at once; the "
            "deliver_alerts sensor retries what is left. See docs/alerting.md."
        ),
    )
    def monitoring_evaluations(
        context: AssetExecutionContext, duckdb: DuckDBResource, alerting: Alerting
    ) -> MaterializeResult:
        dates = dates_built_by_run(context.run.tags)
        # Evidence for the likely cause: the blocking checks that failed in this run.
        failed = check_labels(failed_blocking_checks(context.instance, [context.run.run_id]))
        try:
            alerts = evaluate_and_deliver(
                duckdb.database,
                dates,
                monitors=load_monitors(alerting.monitors_file),
                target=alerting.slack_target(),
                failed_checks=failed,
                base_url=alerting.dagster_url,
                wait_seconds=WAIT_FOR_LOCK_SECONDS,
            )
        except WarehouseBusy as error:
            raise Failure(
                description=f"{error}: the monitors were not evaluated; re-run monitoring/evaluations"
            ) from None
        new = [a for a in alerts if a.new]
        for alert in new:
            context.log.warning(alert.message)
        scope = "every date" if dates == ALL_DATES else f"{len(dates)} date(s)"
        context.log.info(f"evaluated {scope}: {len(alerts)} alert(s), {len(new)} new")
        return MaterializeResult(
            metadata={
                "dates": scope if dates == ALL_DATES else f"{min(dates)} .. {max(dates)}",
                "alerts": len(alerts),
                "new_alerts": len(new),
                "alert_ids": MetadataValue.json([a.alert_id for a in alerts]),
                "new_alert_ids": MetadataValue.json([a.alert_id for a in new]),
            }
        )

    return monitoring_evaluations
