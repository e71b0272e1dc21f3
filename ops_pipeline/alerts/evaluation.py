"""Evaluate monitors over a MetricStore: detection for every (monitor, date, slice), and the
drill-down of what fired. Pure: the same store and monitors always give the same evaluations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from math import sqrt

from ops_pipeline.alerts.attribution import DrillDown, SliceObservation, explain
from ops_pipeline.alerts.detection import NO_DATA, WINDOW_DAYS, Baseline, Detection, Rule, baseline, detect
from ops_pipeline.alerts.monitors import Monitor
from ops_pipeline.alerts.series import TOTAL, MetricStore

# The floor is half the sampling noise: a series may be quieter than pure sampling (data sampled by
# strata, a steady audience), but one trusted to be more than twice as quiet needs more than 4 weeks.
SAMPLING_FLOOR = 0.5


@dataclass(frozen=True)
class Evaluation:
    monitor: Monitor
    date: date
    dimension: str
    dimension_value: str
    detection: Detection
    drill_down: DrillDown | None = None

    @property
    def fired(self) -> bool:
        return self.detection.fired


def rule_of(monitor: Monitor) -> Rule:
    return Rule(monitor.direction, monitor.min_relative_change, monitor.sensitivity, monitor.min_volume)


def evaluate_monitors(store: MetricStore, monitors: Sequence[Monitor], dates: Iterable[date]) -> list[Evaluation]:
    dates = sorted(set(dates))
    evaluations = []
    for monitor in monitors:
        for dimension, dimension_value in _watched_slices(store, monitor):
            for day in dates:
                evaluations.append(evaluate_slice(store, monitor, day, dimension, dimension_value))
    return evaluations


def _watched_slices(store: MetricStore, monitor: Monitor) -> list[tuple[str, str]]:
    if not monitor.watches_slices():
        return [(TOTAL, TOTAL)]
    if monitor.dimension_value is not None:
        return [(monitor.dimension, monitor.dimension_value)]
    return [(monitor.dimension, v) for v in store.slices(monitor.metric, monitor.dimension)]


def evaluate_slice(
    store: MetricStore, monitor: Monitor, day: date, dimension: str = TOTAL, dimension_value: str = TOTAL
) -> Evaluation:
    metric = monitor.metric
    if metric not in store.metrics:
        missing = Detection(
            None, None, None, None, None, 0, NO_DATA, f"metric {metric!r} is not in marts.metrics_daily"
        )
        return Evaluation(monitor, day, dimension, dimension_value, missing)
    series = store.series(metric, dimension, dimension_value)
    base = with_sampling_floor(store, metric, dimension, dimension_value, day, baseline(series, day))
    value = series.get(day)
    if store.is_ratio(metric):
        denominators = store.series(metric, dimension, dimension_value, "denominator")
        detection = detect(
            value,
            base,
            rule_of(monitor),
            volume=denominators.get(day, 0.0),
            expected_volume=baseline(denominators, day).expected,
        )
    else:
        detection = detect(value, base, rule_of(monitor))
    drill_down = None
    if detection.fired and dimension == TOTAL and monitor.drill_down:
        drill_down = drill_down_of(store, metric, day, detection.value, detection.expected, monitor.drill_down)
    return Evaluation(monitor, day, dimension, dimension_value, detection, drill_down)


def _counts(series: dict, day: date) -> bool:
    window = [v for d, v in series.items() if day - timedelta(days=WINDOW_DAYS) <= d < day]
    return bool(window) and all(float(v).is_integer() for v in window)


def with_sampling_floor(
    store: MetricStore, metric: str, dimension: str, dimension_value: str, day: date, base: Baseline
) -> Baseline:
    """For a ratio over counted things, the baseline's scale raised to at least half its sampling noise.

    A share k/n is not known better than binomial noise, a ratio over n counted things (CAC over
    sign-ups) not better than 1/sqrt(n) of itself. A few quiet weeks of such a ratio (a few dozen
    payers a day) can understate that, and an ordinary dip then looks like a 4-sigma event. Counts
    and sums are judged by their own history alone."""
    if not base.sufficient or not store.is_ratio(metric):
        return base
    denominators = store.series(metric, dimension, dimension_value, "denominator")
    if not _counts(denominators, day):
        return base  # e.g. ROAS, over spend
    expected = abs(base.expected)
    n = max(baseline(denominators, day).expected or 0.0, 1.0)
    if expected <= 1.0 and _counts(store.series(metric, dimension, dimension_value, "numerator"), day):
        floor = sqrt(expected * (1.0 - expected) / n)  # a share of counted things
    else:
        floor = expected / sqrt(n)
    floor *= SAMPLING_FLOOR
    return replace(base, scale=floor) if floor > base.scale else base


def drill_down_of(
    store: MetricStore, metric: str, day: date, total_actual: float, total_expected: float, dimensions: Sequence[str]
) -> DrillDown | None:
    available = set(store.dimensions(metric))
    observations = {
        dimension: slice_observations(store, metric, dimension, day)
        for dimension in dimensions
        if dimension in available
    }
    return explain(total_actual, total_expected, observations, ratio=store.is_ratio(metric))


def slice_observations(store: MetricStore, metric: str, dimension: str, day: date) -> list[SliceObservation]:
    observations = []
    ratio = store.is_ratio(metric)
    for value_name in store.slices(metric, dimension):
        series = store.series(metric, dimension, value_name)
        base: Baseline = baseline(series, day)
        if not ratio:
            # A slice too new for a baseline is all change.
            observations.append(SliceObservation(value_name, series.get(day, 0.0), base.expected or 0.0))
            continue
        if not base.sufficient:
            continue
        denominators = store.series(metric, dimension, value_name, "denominator")
        weight = denominators.get(day, 0.0)
        actual = series.get(day)
        observations.append(
            SliceObservation(
                value_name,
                base.expected if actual is None else actual,
                base.expected,
                actual_weight=0.0 if actual is None else weight,
                expected_weight=baseline(denominators, day).expected or 0.0,
            )
        )
    return observations
