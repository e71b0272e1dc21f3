"""MetricStore: the rows of marts.metrics_daily as series, the way detection reads them.

A count slice with no row on a reporting date counted nothing that day (0);
a ratio slice with no row, or a NULL value, has no value that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import pandas as pd

TOTAL = "all"
COLUMNS = ("date", "metric", "dimension", "dimension_value", "value", "numerator", "denominator")
Key = tuple[str, str, str]  # metric, dimension, dimension_value


class MetricStore:
    def __init__(
        self, points: Mapping[Key, Mapping[date, tuple]], ratio_metrics: Iterable[str], dates: Iterable[date]
    ) -> None:
        self._points = points  # key -> date -> (value, numerator, denominator)
        self.ratio_metrics = frozenset(ratio_metrics)
        self.dates = tuple(sorted(set(dates)))
        self._cache: dict[tuple, dict[date, float]] = {}
        self._slices: dict[tuple[str, str], list[str]] = {}
        for metric, dimension, value in points:
            self._slices.setdefault((metric, dimension), []).append(value)
        self.metrics = frozenset(metric for metric, _ in self._slices)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> MetricStore:
        points: dict[Key, dict[date, tuple]] = {}
        ratio_metrics = set()
        columns = [frame[c].tolist() for c in COLUMNS]
        for day, metric, dimension, value_name, value, numerator, denominator in zip(*columns):
            day = day.date() if isinstance(day, datetime) else day  # pandas Timestamps are datetimes
            value, numerator, denominator = (_number(v) for v in (value, numerator, denominator))
            points.setdefault((metric, dimension, value_name), {})[day] = (value, numerator, denominator)
            if denominator is not None:
                ratio_metrics.add(metric)
        dates = {d for (metric, dimension, _), by_day in points.items() if dimension == TOTAL for d in by_day}
        return cls(points, ratio_metrics, dates)

    def with_points(self, overrides: Mapping[Key, Mapping[date, tuple]]) -> MetricStore:
        """A copy where the given (key, date) points are replaced: how the backtest injects swings."""
        points = dict(self._points)
        for key, by_day in overrides.items():
            points[key] = {**points.get(key, {}), **by_day}
        return MetricStore(points, self.ratio_metrics, self.dates)

    def is_ratio(self, metric: str) -> bool:
        return metric in self.ratio_metrics

    def dimensions(self, metric: str) -> list[str]:
        return [d for (m, d) in self._slices if m == metric and d != TOTAL]

    def slices(self, metric: str, dimension: str) -> list[str]:
        return sorted(self._slices.get((metric, dimension), []))

    def point(self, metric: str, dimension: str, dimension_value: str, day: date) -> tuple:
        return self._points.get((metric, dimension, dimension_value), {}).get(day, (None, None, None))

    def series(
        self, metric: str, dimension: str = TOTAL, dimension_value: str = TOTAL, part: str = "value"
    ) -> dict[date, float]:
        """date -> number for `part` (value, numerator or denominator); missing counts are 0."""
        cache_key = (metric, dimension, dimension_value, part)
        if cache_key not in self._cache:
            index = ("value", "numerator", "denominator").index(part)
            by_day = self._points.get((metric, dimension, dimension_value), {})
            series = {d: p[index] for d, p in by_day.items() if p[index] is not None}
            if not self.is_ratio(metric) or part != "value":
                # A ratio's numerator/denominator with no row: nothing was counted either.
                series = {d: series.get(d, 0.0) for d in self.dates} | series
            self._cache[cache_key] = series
        return self._cache[cache_key]


def _number(value) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)
