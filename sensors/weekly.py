"""The weekly report's automation: after every successful pipeline run that the daemon launched (the
landing sensor, the daily schedule, the UI), the report of the week it completed; and a Monday
schedule (off by default). A command-line run builds its week itself (pipeline.report_completed_week)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
from dagster import (
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    ScheduleDefinition,
    SkipReason,
    build_schedule_from_partitioned_job,
    run_status_sensor,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_START_TAG

from ops_pipeline.instance import PID_TAG
from ops_pipeline.settings import Settings, lookback_days
from ops_pipeline.warehouse import WarehouseBusy
from ops_pipeline.weekly.build import latest_week
from ops_pipeline.weekly.weeks import WeekError

WEEKLY_REPORT_HOUR = 8  # Monday 08:00 in the reporting time zone, after the daily run


def weekly_report_schedule(job) -> ScheduleDefinition:
    """Each Monday, the partition of the week that ended on Sunday."""
    return build_schedule_from_partitioned_job(
        job,
        name="weekly_report_schedule",
        hour_of_day=WEEKLY_REPORT_HOUR,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Every Monday at 08:00 (reporting time zone), builds and announces the report of the week "
        "that ended. Off by default.",
    )


def completed_week_sensor(settings: Settings, pipeline_job, weekly_job, default_status=DefaultSensorStatus.RUNNING):
    @run_status_sensor(
        name="report_completed_week",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[pipeline_job],
        request_job=weekly_job,
        default_status=default_status,
        description="After a successful pipeline run launched by the daemon, requests the weekly report of the "
        "last complete week when the run rebuilt any of its days (once per run).",
    )
    def report_completed_week(context: RunStatusSensorContext):
        run = context.dagster_run
        if PID_TAG in run.tags:
            return SkipReason(f"run {run.run_id[:8]} ran on the command line, which builds its week itself")
        try:
            week = latest_week(settings)
        except (WeekError, WarehouseBusy, duckdb.Error) as error:
            return SkipReason(f"no weekly report: {error}")
        first = run.tags.get(ASSET_PARTITION_RANGE_START_TAG)
        if first and week.end < date.fromisoformat(first) - timedelta(days=lookback_days()):
            return SkipReason(f"run {run.run_id[:8]} rebuilt no day of {week}")
        return RunRequest(run_key=f"{week}:{run.run_id}", partition_key=week.start.isoformat())

    return report_completed_week
