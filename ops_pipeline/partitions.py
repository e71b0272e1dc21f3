"""Daily partitions: one per landing day."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition, PartitionKeyRange

from ops_pipeline.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    # end_offset=1 lets today's landing day be loaded while it is still filling up.
    return DailyPartitionsDefinition(
        start_date=settings.partition_start, timezone=settings.timezone, end_offset=1
    )


def landing_days_of(window_start, window_end) -> tuple[date, date]:
    """A partition time window [start, end) as the first and last landing day it holds."""
    return window_start.date(), (window_end - timedelta(days=1)).date()


def key_range(first_day: date, last_day: date) -> PartitionKeyRange:
    return PartitionKeyRange(first_day.isoformat(), last_day.isoformat())
