"""The dbt marts -> the review marts computed in Python (campaign_review, experiment_results,
churn_risk, churn_model), then the review's alerts (a target behind, a sample-ratio mismatch, a
campaign's dip) through the outbox. See docs/review.md."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset
from dagster_duckdb import DuckDBResource

from ops_pipeline.alerts.announcements import enqueue
from ops_pipeline.alerts.review import review_alerts
from ops_pipeline.resources import Alerting
from ops_pipeline.review.marts import TABLES, build_review
from ops_pipeline.warehouse import open_warehouse

REVIEW_KEYS = [AssetKey(["marts", table]) for table in TABLES]
INPUTS = [
    AssetKey(["marts", "kpi_daily"]),
    AssetKey(["marts", "metrics_daily"]),
    AssetKey(["marts", "rfm_segments"]),
    AssetKey(["marts", "target_progress"]),
    AssetKey(["staging", "stg_planning__campaigns"]),
    AssetKey(["staging", "stg_planning__experiments"]),
    AssetKey(["intermediate", "int_experiment_persons_assigned"]),
]
DESCRIPTIONS = {
    "campaign_review": "活动复盘: per started campaign and metric, actual against a counterfactual from the 28 days "
    "before it (the rest of the company for a scoped campaign, a structural time series for a company-wide one), "
    "the uplift with its calibrated 90% interval, ROI, attainment, the dip after it and its participants.",
    "experiment_results": "A/B: per experiment, variant and metric, persons (first exposure; conflicts excluded and "
    "counted), mean and variance, lift with its Welch interval and p-value, the sample-ratio check and the decision.",
    "churn_risk": "流失预警: per paying user, the BG/NBD probability of still being active, the expected paid-order "
    "days of the next 30, monetary, RFM segment and risk.",
    "churn_model": "The BG/NBD parameters (r, alpha, a, b) fitted by maximum likelihood, one row per as-of date.",
}


@multi_asset(
    specs=[
        AssetSpec(
            key, deps=INPUTS, group_name="review", kinds={"python", "duckdb"}, description=DESCRIPTIONS[key.path[1]]
        )
        for key in REVIEW_KEYS
    ],
    name="review_marts",
)
def review_marts(context: AssetExecutionContext, duckdb: DuckDBResource, alerting: Alerting):
    with duckdb.get_connection() as conn:
        rows = build_review(conn)
    with open_warehouse(duckdb.database, read_only=True) as conn:
        alerts = review_alerts(conn, alerting.dagster_url)
    stored = enqueue(duckdb.database, alerts, alerting.slack_target()) if alerts else []
    new = [a for a in stored if a.new]
    for alert in new:
        context.log.warning(alert.message)
    context.log.info(f"review marts: {rows}; review alerts: {len(alerts)} ({len(new)} new)")
    for key in REVIEW_KEYS:
        yield MaterializeResult(
            asset_key=key, metadata={"rows": rows.get(key.path[1], 0), "review_alerts": len(alerts)}
        )
