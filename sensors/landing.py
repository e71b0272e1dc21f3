"""Automation: the landing sensor (on by default), the daily schedule (off) and the freshness sensor.

* build_landed_files: every 30 s, the landing days that are new or changed
  since the last successful run (changes.py) start one run of the pipeline job
  over them and everything downstream. The run key is the files' checksums:
  the same delivery never runs twice, a restated day runs again. Files still
  being written (changed within OPS_LANDING_SETTLE_SECONDS) wait for the next
  tick, a new day waits until every source in use has landed its file (the
  deadline alert says when one is late), and everything waits while a run of
  this warehouse is queued or in progress.
* daily_pipeline: the same request at a fixed time (OPS_SCHEDULE, a cron line,
  in OPS_SCHEDULE_TIMEZONE or the reporting time zone), for teams whose exports
  arrive at a known hour; turn it on in the UI (Automation) or with
  `dagster schedule start daily_pipeline`.
* watch_landing_deadlines: a source whose landing day has not landed by its
  deadline (monitors.yml, `freshness`) raises one `pipeline` alert.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from ops_pipeline.alerts.freshness import late_source_alerts
from ops_pipeline.changes import landing_changes
from ops_pipeline.instance import WAREHOUSE_TAG
from ops_pipeline.partitions import before_first_partition, range_tags
from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import WarehouseBusy

ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def build_landing_automation(
    settings: Settings,
    job_name: str,
    first_partition,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> tuple[list[SensorDefinition], list[ScheduleDefinition]]:
    return (
        [
            landing_sensor(settings, job_name, first_partition, default_status),
            freshness_sensor(settings, default_status),
        ],
        [daily_schedule(settings, job_name, first_partition)],
    )


def build_request(settings: Settings, instance: DagsterInstance, first_partition, settle_seconds: float):
    """A RunRequest for what changed in the landing folder, or the SkipReason saying why not."""
    active = instance.get_runs(RunsFilter(statuses=ACTIVE, tags={WAREHOUSE_TAG: str(settings.warehouse)}), limit=1)
    if active:
        return SkipReason(f"run {active[0].run_id[:8]} is building this warehouse; looking again when it ends")
    try:
        changes = landing_changes(settings, instance, settle_seconds, complete_only=True)
    except WarehouseBusy:
        return SkipReason("warehouse busy; looking again next tick")
    if changes.refusal:
        return SkipReason(changes.refusal)
    still = f"; {len(changes.unsettled)} file(s) still arriving" if changes.unsettled else ""
    if not changes.days:
        return SkipReason(changes.describe() + still)
    if changes.days[0] < first_partition:
        return SkipReason(before_first_partition(changes.days[0], first_partition))
    return RunRequest(run_key=changes.fingerprint, tags=range_tags(changes.days[0], changes.days[-1]))


def landing_sensor(
    settings: Settings, job_name: str, first_partition, default_status: DefaultSensorStatus
) -> SensorDefinition:
    @sensor(
        name="build_landed_files",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=default_status,
        description="Builds the landing days whose files are new or changed since the last successful run "
        "(run key: the files' checksums), once their files have settled.",
    )
    def build_landed_files(context: SensorEvaluationContext):
        request = build_request(settings, context.instance, first_partition, settings.landing_settle_seconds)
        if isinstance(request, RunRequest):
            context.log.info(f"requesting run {request.run_key} for {request.tags}")
        return request

    return build_landed_files


def daily_schedule(settings: Settings, job_name: str, first_partition) -> ScheduleDefinition:
    @schedule(
        name="daily_pipeline",
        job_name=job_name,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone or settings.timezone,
        default_status=DefaultScheduleStatus.STOPPED,
        description="At a fixed time every day, builds what the landing sensor would: the landing days new "
        "or changed since the last successful run. Off by default.",
    )
    def daily_pipeline(context: ScheduleEvaluationContext):
        return build_request(settings, context.instance, first_partition, 0.0)

    return daily_pipeline


def freshness_sensor(settings: Settings, default_status: DefaultSensorStatus) -> SensorDefinition:
    @sensor(
        name="watch_landing_deadlines",
        minimum_interval_seconds=300,
        default_status=default_status,
        description="Raises one `pipeline` alert per source and landing day not landed by its deadline "
        "(monitors.yml, freshness).",
    )
    def watch_landing_deadlines(context: SensorEvaluationContext):
        now = datetime.now(ZoneInfo(settings.timezone))
        try:
            late = late_source_alerts(settings, now)
        except WarehouseBusy:
            return SkipReason("warehouse busy; looking again next tick")
        return SkipReason(f"{len(late)} source(s) late" + (": " + ", ".join(a.monitor for a in late) if late else ""))

    return watch_landing_deadlines
