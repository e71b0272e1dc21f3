"""The detection-quality backtest (`ops-pipeline eval-alerts`): how good is detection? Inject swings
of known size into clean series and measure. (Not data quality: that is ops_pipeline.quality.)

On clean data (marts.metrics_daily of a generated dataset without incidents):

* every monitor is evaluated on every date with 4 weeks of history: whatever
  fires there is a false alarm;
* each trial picks a monitor, a date and a swing size s (10%..80%, in the
  monitor's direction) and injects it:
  - a total monitor: into one slice of one of its drill-down dimensions, by
    s x the total (for a ratio, s x its numerator), spread over the slices
    of the other dimensions in proportion to their size, as a real swing of
    one channel shows up across platforms and regions;
  - a slice monitor (e.g. events of one platform): into that slice's series;
* recall = injected swings alerted, by size; precision = alerts on injected
  dates / (those + alerts on the same monitors at clean control dates, one
  per trial); top slice = alerted slice injections whose drill-down names
  the injected dimension and slice first (all, and swings >= 30%). Trials a
  monitor's min_volume mutes are counted apart, not as misses.

The same code as production runs every evaluation (evaluation.evaluate_slice).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ops_pipeline.alerts.detection import LOW_VOLUME, WINDOW_DAYS, baseline
from ops_pipeline.alerts.evaluation import evaluate_monitors, evaluate_slice
from ops_pipeline.alerts.monitors import Monitor, load_monitors
from ops_pipeline.alerts.series import TOTAL, MetricStore

SIZE_BUCKETS = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 0.8))
MAX_SLICE_DROP = 0.9  # a slice loses at most 90% of itself
MAX_SLICE_RISE = 5.0  # ... and grows at most 6-fold
# Top slice is judged, like recall, on swings of 30% or more: a smaller swing that alerts was
# mostly helped over the threshold by the day's noise, which then shares the "cause".
TARGETS = {"recall_at_least_30": 0.9, "precision": 0.9, "top_slice_accuracy_at_least_30": 0.9}


@dataclass(frozen=True)
class Trial:
    monitor: Monitor
    day: date
    size: float  # signed relative swing of the monitored series
    dimension: str  # where it was injected
    dimension_value: str
    store: MetricStore


def backtest_detection(
    metrics: pd.DataFrame | MetricStore,
    monitors: Sequence[Monitor] | None = None,
    trials: int = 400,
    seed: int = 0,
    exclude_dates: Iterable[date] = (),
) -> dict:
    started = time.monotonic()
    store = metrics if isinstance(metrics, MetricStore) else MetricStore.from_frame(metrics)
    monitors = [m for m in (load_monitors() if monitors is None else monitors) if m.metric in store.metrics]
    excluded = set(exclude_dates)
    days = [d for d in store.dates[WINDOW_DAYS:] if d not in excluded]
    if not days or not monitors:
        raise ValueError("need monitored metrics with more than 4 weeks of dates to evaluate detection quality")

    clean = evaluate_monitors(store, monitors, days)
    clean_fired = {(e.monitor.name, e.date, e.dimension_value) for e in clean if e.fired}
    rng = random.Random(seed)
    results = []
    attempts = muted = 0
    while len(results) < trials and attempts < trials * 20:
        attempts += 1
        trial = _make_trial(store, monitors, days, rng)
        if trial is None or (trial.monitor.name, trial.day, _watched_value(trial)) in clean_fired:
            continue
        injected = _evaluate(trial, trial.store)
        if injected.detection.decision == LOW_VOLUME:
            muted += 1  # the monitor is configured not to judge so small a volume
            continue
        control_day = rng.choice(days)
        control = evaluate_slice(store, trial.monitor, control_day, *_watched(trial))
        results.append((trial, injected, control))
    return _report(results, clean, clean_fired, muted, time.monotonic() - started)


def _watched(trial: Trial) -> tuple[str, str]:
    if trial.monitor.watches_slices():
        return trial.dimension, trial.dimension_value
    return TOTAL, TOTAL


def _watched_value(trial: Trial) -> str:
    return _watched(trial)[1]


def _evaluate(trial: Trial, store: MetricStore):
    return evaluate_slice(store, trial.monitor, trial.day, *_watched(trial))


def _make_trial(
    store: MetricStore, monitors: Sequence[Monitor], days: Sequence[date], rng: random.Random
) -> Trial | None:
    monitor = rng.choice(monitors)
    day = rng.choice(days)
    low, high = rng.choice(SIZE_BUCKETS)
    size = rng.uniform(low, high)
    if monitor.direction == "down" or (monitor.direction == "both" and rng.random() < 0.5):
        size = -size
    metric = monitor.metric
    part = "numerator" if store.is_ratio(metric) else "value"
    if monitor.watches_slices():
        values = [monitor.dimension_value] if monitor.dimension_value else store.slices(metric, monitor.dimension)
        value_name = rng.choice(values)
        point = store.point(metric, monitor.dimension, value_name, day)
        if point[0] is None:
            return None
        return Trial(
            monitor,
            day,
            size,
            monitor.dimension,
            value_name,
            store.with_points(
                {(metric, monitor.dimension, value_name): {day: _scaled(point, size, store.is_ratio(metric))}}
            ),
        )
    dimensions = [d for d in monitor.drill_down if d in store.dimensions(metric)]
    if not dimensions:
        return None
    dimension = rng.choice(dimensions)
    total = store.point(metric, TOTAL, TOTAL, day)
    total_amount = total[1] if store.is_ratio(metric) else total[0]
    if not total_amount:
        return None
    delta = size * total_amount
    shares = _shares(store, metric, dimension, day, part)
    # the slice must be able to carry the swing: it cannot lose more than 90% of itself
    index = 1 if part == "numerator" else 0
    fitting = [
        (v, s)
        for v, s in shares.items()
        if (size > 0 and s * MAX_SLICE_RISE >= size)
        or (size < 0 and (store.point(metric, dimension, v, day)[index] or 0.0) * MAX_SLICE_DROP >= -delta)
    ]
    if not fitting:
        return None
    value_name = rng.choices([v for v, _ in fitting], weights=[s for _, s in fitting])[0]
    overrides = {(metric, TOTAL, TOTAL): {day: _shifted(total, delta, store.is_ratio(metric))}}
    for other in store.dimensions(metric):
        if other == dimension:
            overrides[(metric, other, value_name)] = {
                day: _shifted(store.point(metric, other, value_name, day), delta, store.is_ratio(metric))
            }
            continue
        for other_value, share in _shares(store, metric, other, day, part).items():
            overrides[(metric, other, other_value)] = {
                day: _shifted(store.point(metric, other, other_value, day), delta * share, store.is_ratio(metric))
            }
    return Trial(monitor, day, size, dimension, value_name, store.with_points(overrides))


def _shares(store: MetricStore, metric: str, dimension: str, day: date, part: str) -> dict[str, float]:
    """The slices' usual shares of the total (of its numerator for a ratio): their expected values,
    normalised. A swing of one channel spreads over platforms and regions by their usual mix."""
    amounts = {}
    for value_name in store.slices(metric, dimension):
        expected = baseline(store.series(metric, dimension, value_name, part), day).expected
        amounts[value_name] = max(expected or 0.0, 0.0)
    total = sum(amounts.values())
    return {v: a / total for v, a in amounts.items() if a > 0} if total else {}


def _shifted(point: tuple, delta: float, ratio: bool) -> tuple:
    value, numerator, denominator = point
    if not ratio:
        return ((value or 0.0) + delta, numerator, denominator)
    numerator = (numerator or 0.0) + delta
    return (numerator / denominator if denominator else None, numerator, denominator)


def _scaled(point: tuple, size: float, ratio: bool) -> tuple:
    value, numerator, denominator = point
    if not ratio:
        return (value * (1 + size), numerator, denominator)
    numerator = (numerator or 0.0) * (1 + size)
    return (numerator / denominator if denominator else None, numerator, denominator)


def _bucket(size: float) -> str:
    for low, high in SIZE_BUCKETS:
        if low <= abs(size) < high or abs(size) == high == SIZE_BUCKETS[-1][1]:
            return f"{low:.0%}-{high:.0%}"
    return "other"


def _report(results, clean, clean_fired, muted: int, seconds: float) -> dict:
    by_bucket: dict[str, list[bool]] = {}
    for trial, injected, _ in results:
        by_bucket.setdefault(_bucket(trial.size), []).append(injected.fired)
    large = [injected.fired for trial, injected, _ in results if abs(trial.size) >= 0.3]
    true_alerts = sum(injected.fired for _, injected, _ in results)
    false_alerts = sum(control.fired for _, _, control in results)
    attributed = [
        (trial, injected) for trial, injected, _ in results if injected.fired and not trial.monitor.watches_slices()
    ]
    right = [
        (t, e)
        for t, e in attributed
        if e.drill_down and e.drill_down.dimension == t.dimension and e.drill_down.top_slice == t.dimension_value
    ]
    wrong = [(t, e) for t, e in attributed if (t, e) not in right]
    large_attributed = [(t, e) for t, e in attributed if abs(t.size) >= 0.3]
    large_right = [(t, e) for t, e in right if abs(t.size) >= 0.3]
    missed = [t for t, e, _ in results if not e.fired and abs(t.size) >= 0.3]
    report = {
        "trials": len(results),
        "recall_by_swing": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_bucket.items())},
        "trials_by_swing": {k: len(v) for k, v in sorted(by_bucket.items())},
        "recall_at_least_30": round(sum(large) / len(large), 3) if large else None,
        "precision": round(true_alerts / (true_alerts + false_alerts), 3) if true_alerts + false_alerts else None,
        "control_false_alerts": false_alerts,
        "top_slice_accuracy": round(len(right) / len(attributed), 3) if attributed else None,
        "attributed_alerts": len(attributed),
        "top_slice_accuracy_at_least_30": round(len(large_right) / len(large_attributed), 3)
        if large_attributed
        else None,
        "recall_at_least_30_by_monitor": _by_monitor(results),
        "muted_by_min_volume": muted,
        "clean_evaluations": len(clean),
        "clean_alerts": len(clean_fired),
        "clean_alert_examples": sorted(f"{m} {d} {v}" for m, d, v in clean_fired)[:10],
        "missed_examples": [
            f"{t.monitor.name} {t.day} {t.dimension}={t.dimension_value} {t.size:+.0%}" for t in missed[:10]
        ],
        "misattributed_examples": [
            f"{t.monitor.name} {t.day} injected {t.dimension}={t.dimension_value} {t.size:+.0%}, named "
            + (f"{e.drill_down.dimension}={e.drill_down.top_slice}" if e.drill_down else "nothing")
            for t, e in wrong[:10]
        ],
        "seconds": round(seconds, 1),
    }
    report["targets"] = TARGETS
    report["meets_targets"] = all(report[k] is not None and report[k] >= v for k, v in TARGETS.items())
    return report


def _by_monitor(results) -> dict[str, float]:
    fired: dict[str, list[bool]] = {}
    for trial, injected, _ in results:
        if abs(trial.size) >= 0.3:
            fired.setdefault(trial.monitor.name, []).append(injected.fired)
    return {name: round(sum(v) / len(v), 3) for name, v in sorted(fired.items())}


def incident_dates(landing_dir: str | Path) -> set[date]:
    """Dates of the incidents a generated landing folder holds (from its manifest.json), if any."""
    manifest = Path(landing_dir) / "manifest.json"
    if not manifest.exists():
        return set()
    dates = set()
    for incident in json.loads(manifest.read_text(encoding="utf-8")).get("incidents", []):
        day, end = date.fromisoformat(incident["start"]), date.fromisoformat(incident["end"])
        while day <= end:
            dates.add(day)
            day += timedelta(days=1)
    return dates


def backtest_report(
    warehouse_path: str | Path,
    landing_dir: str | Path | None = None,
    trials: int = 400,
    seed: int = 0,
    monitors_file: str | Path | None = None,
) -> dict:
    """backtest_detection on a warehouse, leaving out the dates of known incidents."""
    from ops_pipeline.alerts.service import metrics_frame

    excluded = incident_dates(landing_dir) if landing_dir else set()
    return backtest_detection(metrics_frame(warehouse_path), load_monitors(monitors_file), trials, seed, excluded)


def format_report(report: dict) -> str:
    lines = [
        f"Detection quality over {report['trials']} injected swings ({report['seconds']}s):",
        *(
            f"  recall {bucket:>8}: {recall:.0%} ({report['trials_by_swing'][bucket]} trials)"
            for bucket, recall in report["recall_by_swing"].items()
        ),
        f"  recall for swings >= 30%: {_pct(report['recall_at_least_30'])} (target >= 90%)",
        f"  precision: {_pct(report['precision'])} (target >= 90%; {report['control_false_alerts']} false alerts "
        "at clean control dates)",
        f"  top slice right: {_pct(report['top_slice_accuracy_at_least_30'])} of alerted slice swings >= 30% "
        f"(target >= 90%); {_pct(report['top_slice_accuracy'])} of all {report['attributed_alerts']}",
        f"  muted by min_volume (not counted): {report['muted_by_min_volume']} trials",
        f"  clean data: {report['clean_alerts']} alert(s) in {report['clean_evaluations']:,} evaluations",
        "  targets met" if report["meets_targets"] else "  TARGETS NOT MET",
    ]
    for key, title in (
        ("missed_examples", "missed"),
        ("misattributed_examples", "misattributed"),
        ("clean_alert_examples", "false alerts on clean data"),
    ):
        if report[key]:
            lines.append(f"  {title}: " + "; ".join(report[key][:5]))
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
