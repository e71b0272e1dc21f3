"""The weekly report's schedule: Monday morning, the week that ended (off by default; `ops-pipeline run`
already builds a week its run completes)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition, build_schedule_from_partitioned_job

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
