"""Business days in Asia/Shanghai (fixed UTC+8, no DST) and epoch milliseconds."""

from __future__ import annotations

from datetime import date, timedelta

DAY_MS = 86_400_000
SHANGHAI_OFFSET_MS = 8 * 3_600_000
_EPOCH = date(1970, 1, 1)


def day_date(start: date, day: int) -> date:
    return start + timedelta(days=day)


def day_label(start: date, day: int) -> str:
    return day_date(start, day).isoformat()


def day_start_ms(start: date, day: int) -> int:
    """UTC epoch ms of midnight Asia/Shanghai opening business day `day` (0 = start)."""
    return (day_date(start, day) - _EPOCH).days * DAY_MS - SHANGHAI_OFFSET_MS


def weekday(start: date, day: int) -> int:
    """0 = Monday ... 6 = Sunday."""
    return day_date(start, day).weekday()


def is_weekend(start: date, day: int) -> bool:
    return weekday(start, day) >= 5
