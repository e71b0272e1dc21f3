"""The statistics of marts.experiment_results (A/B tests): per-person outcomes in, one row per variant
and metric out, with Welch's test against the control, the sample-ratio-mismatch check and the
decision (docs/review.md). scipy supplies the distributions; the formulas are written out here so a
test can follow them by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

METRICS = ("pay_conversion", "order_conversion", "add_to_cart_conversion", "revenue_per_user")
SRM_ALPHA, MIN_PERSONS, ALPHA = 0.001, 100, 0.05


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    variants: tuple[str, ...]  # the control first
    weights: tuple[float, ...] | None  # planned shares in the same order; None: equal
    primary_metric: str


def srm_p_value(counts: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square goodness of fit of the persons per variant to the planned (normalised) weights."""
    counts = np.asarray(counts, dtype=float)
    if counts.sum() == 0:
        return 1.0
    expected = np.asarray(weights, dtype=float) / np.sum(weights) * counts.sum()
    return float(stats.chisquare(counts, expected).pvalue)


def welch(control: np.ndarray, treatment: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) of mean(treatment) - mean(control): Welch-Satterthwaite degrees of
    freedom, two-sided. NaN when a side has fewer than 2 persons; with no variance on either side the
    difference is exact (interval of width 0, p 1 when equal, 0 when not)."""
    n1, n2 = len(control), len(treatment)
    if n1 < 2 or n2 < 2:
        return np.nan, np.nan, np.nan
    diff = float(np.mean(treatment) - np.mean(control))
    v1, v2 = np.var(control, ddof=1) / n1, np.var(treatment, ddof=1) / n2
    se = float(np.sqrt(v1 + v2))
    if se == 0:
        return diff, diff, 1.0 if diff == 0 else 0.0
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    return diff - half, diff + half, p_value


def experiment_results(experiment: Experiment, persons: pd.DataFrame, excluded_persons: int) -> pd.DataFrame:
    """One row per declared variant (persons 0 included) and metric. `persons`: one row per person with
    `variant` and a column per metric. Persons of an undeclared variant are not part of the experiment:
    they are dropped and added to excluded_persons. A missing outcome is an error, not a zero."""
    for metric in METRICS:
        if persons[metric].isna().any():
            raise ValueError(f"{experiment.experiment_id}: {metric} has missing values")
    declared = persons["variant"].isin(experiment.variants)
    excluded = excluded_persons + int((~declared).sum())
    persons = persons[declared]
    groups = {v: persons.loc[persons["variant"] == v] for v in experiment.variants}
    counts = [len(groups[v]) for v in experiment.variants]
    weights = experiment.weights or (1.0,) * len(experiment.variants)
    srm = srm_p_value(counts, weights)
    control = experiment.variants[0]
    rows = []
    for metric in METRICS:
        base = groups[control][metric].to_numpy(float)
        base_mean = base.mean() if len(base) else np.nan
        for variant in experiment.variants:
            values = groups[variant][metric].to_numpy(float)
            mean = values.mean() if len(values) else np.nan
            is_control = variant == control
            low, high, p_value = (np.nan,) * 3 if is_control else welch(base, values)
            lift = np.nan if is_control else mean - base_mean
            rows.append(
                {
                    "experiment_id": experiment.experiment_id,
                    "variant": variant,
                    "is_control": is_control,
                    "metric": metric,
                    "persons": len(values),
                    "value_sum": float(values.sum()),
                    "mean": mean,
                    "variance": np.var(values, ddof=1) if len(values) >= 2 else np.nan,
                    "lift_abs": lift,
                    "lift_rel": lift / base_mean if not is_control and base_mean else np.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": p_value,
                    "srm_p_value": srm,
                    "excluded_persons": excluded,
                    "decision": _decision(experiment, metric, is_control, srm, min(counts), p_value, lift),
                }
            )
    return pd.DataFrame(rows).replace({np.nan: None})


def _decision(experiment: Experiment, metric: str, is_control: bool, srm: float, fewest: int, p_value, lift):
    if metric != experiment.primary_metric:
        return None
    if srm < SRM_ALPHA:
        return "srm"
    if fewest < MIN_PERSONS:
        return "insufficient"
    if is_control:
        return "control"
    if p_value < ALPHA:
        return "better" if lift > 0 else "worse"
    return "no_difference"
