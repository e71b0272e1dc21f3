"""The one Definitions object: the UI, the CLI and the tests all load it from here."""

from __future__ import annotations

import warnings

from dagster import AssetSelection, BetaWarning, Definitions, define_asset_job, in_process_executor

from ops_pipeline.assets.checks import build_quality_checks
from ops_pipeline.assets.dbt import build_dbt_assets
from ops_pipeline.assets.ingestion import build_raw_assets, landing_specs, ledger_specs
from ops_pipeline.assets.monitoring import build_evaluation_asset
from ops_pipeline.assets.review import REVIEW_KEYS, review_marts
from ops_pipeline.assets.serving import build_serving_asset
from ops_pipeline.assets.weekly import build_weekly_report_asset, weekly_partitions
from ops_pipeline.instance import WAREHOUSE_TAG
from ops_pipeline.partitions import daily_partitions, first_partition
from ops_pipeline.resources import build_resources
from ops_pipeline.sensors.alerts import build_alert_sensors
from ops_pipeline.sensors.landing import build_landing_automation
from ops_pipeline.sensors.weekly import completed_week_sensor, weekly_report_schedule
from ops_pipeline.settings import Settings

PIPELINE_JOB = "pipeline"
WEEKLY_REPORT_JOB = "weekly_report"

# Single-run backfill policies are marked beta; they are the point of the design here.
warnings.filterwarnings("ignore", category=BetaWarning)


def build_definitions(settings: Settings) -> Definitions:
    first_day = first_partition(settings)
    partitions_def = daily_partitions(settings, first_day)
    raw_assets = build_raw_assets(partitions_def)
    dbt_models = build_dbt_assets()
    serving = build_serving_asset([*(key for key in dbt_models.keys if key.path[0] == "marts"), *REVIEW_KEYS])
    evaluations = build_evaluation_asset(settings.monitors_file)
    pipeline = define_asset_job(
        PIPELINE_JOB,
        selection=AssetSelection.assets(*raw_assets, dbt_models, review_marts, serving, evaluations),
        description="Ingest the landing files of a range of days, build everything downstream, and "
        "evaluate the monitors on the dates rebuilt.",
        # The run queue lets one run per warehouse in progress at a time (instance.py).
        tags={WAREHOUSE_TAG: str(settings.warehouse)},
    )
    mart_keys = [*(key for key in dbt_models.keys if key.path[0] == "marts"), *REVIEW_KEYS, evaluations.key]
    weekly_report = build_weekly_report_asset(settings, weekly_partitions(settings, first_day), mart_keys)
    weekly_job = define_asset_job(
        WEEKLY_REPORT_JOB,
        selection=AssetSelection.assets(weekly_report),
        description="Build one week's report (运营数据周报) from the marts and announce it once.",
        tags={WAREHOUSE_TAG: str(settings.warehouse)},
    )
    sensors, schedules = build_landing_automation(settings, PIPELINE_JOB, first_day)
    schedules = [*schedules, weekly_report_schedule(weekly_job)]
    return Definitions(
        assets=[
            *landing_specs(),
            *raw_assets,
            *ledger_specs(),
            dbt_models,
            review_marts,
            serving,
            evaluations,
            weekly_report,
        ],
        asset_checks=build_quality_checks(),
        jobs=[pipeline, weekly_job],
        sensors=[*sensors, *build_alert_sensors(settings), completed_week_sensor(settings, pipeline, weekly_job)],
        schedules=schedules,
        resources=build_resources(settings),
        # DuckDB allows one writer: steps run one after another in the run's own process.
        executor=in_process_executor,
    )


defs = build_definitions(Settings.from_env())
