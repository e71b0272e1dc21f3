"""ISO weeks (Monday to Sunday, business dates): parsing `2026-W47` and finding the last complete one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(ValueError):
    """A week that cannot be read, or that the warehouse has no (complete) data for; the message says why."""


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = WEEK_PATTERN.match(text.strip())
        if not match:
            raise WeekError(f"week {text!r}: expected an ISO week such as 2026-W47 (YYYY-Www)")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise WeekError(f"week {text!r}: {year} has no ISO week {number}") from None
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    def shifted(self, weeks: int) -> Week:
        return Week.of(self.start + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"


def last_complete_week(last_complete_date: date) -> Week:
    """The latest week whose Sunday is on or before the last complete date."""
    week = Week.of(last_complete_date)
    return week if week.end <= last_complete_date else week.shifted(-1)
