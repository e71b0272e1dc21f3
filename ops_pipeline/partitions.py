"""Daily partitions: one per landing day, and the run tags that carry a range of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import DailyPartitionsDefinition
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ops_pipeline import landing
from ops_pipeline.settings import Settings


def first_partition(settings: Settings) -> date:
    """OPS_PARTITION_START when set, else the earliest landing day in the folder (today's date in
    the reporting time zone while it is empty): the asset pages show the days that exist."""
    if settings.partition_start:
        return date.fromisoformat(settings.partition_start)
    days = landing.scan(settings.landing_dir, timezone=settings.timezone).days()
    return days[0] if days else datetime.now(ZoneInfo(settings.timezone)).date()


def daily_partitions(settings: Settings, first_day: date | None = None) -> DailyPartitionsDefinition:
    """first_day: first_partition(settings), when the caller has it already (it scans the landing folder)."""
    # end_offset=1 lets today's landing day be loaded while it is still filling up.
    return DailyPartitionsDefinition(
        start_date=(first_day or first_partition(settings)).isoformat(), timezone=settings.timezone, end_offset=1
    )


def before_first_partition(day: date, first: date) -> str:
    """The error of a landing day older than the partitions, with what to do about it."""
    return (
        f"landing day {day} is before the first daily partition {first}, which was fixed when the "
        "definitions were loaded: reload the code location (the partitions then start at the earliest "
        "landing day), or set OPS_PARTITION_START to that day or earlier"
    )


def landing_days_of(window_start, window_end) -> tuple[date, date]:
    """A partition time window [start, end) as the first and last landing day it holds."""
    return window_start.date(), (window_end - timedelta(days=1)).date()


def range_tags(first_day: date, last_day: date) -> dict[str, str]:
    """Tags that make one run cover every partition from first_day to last_day."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: first_day.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last_day.isoformat(),
    }


def run_window(run_tags: Mapping[str, str]) -> dict[str, str | None]:
    """The landing days a run ingests, from its partition tags; None for both means a full build."""
    start = run_tags.get(ASSET_PARTITION_RANGE_START_TAG) or run_tags.get(PARTITION_NAME_TAG)
    end = run_tags.get(ASSET_PARTITION_RANGE_END_TAG) or run_tags.get(PARTITION_NAME_TAG)
    return {"min_date": start, "max_date": end}
