"""Issue 17, the A/B statistics of marts.experiment_results: Welch's test, the sample-ratio check and
the decisions, against values worked out by hand (plain math) and the textbook closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ops_pipeline.review.experiments import METRICS, Experiment, experiment_results, srm_p_value, welch


def test_welch_matches_the_hand_computation():
    a = [19.1, 20.3, 18.7, 21.5, 20.0]
    b = [22.4, 21.8, 23.9, 22.7, 24.1, 23.0]
    mean_a, mean_b = sum(a) / 5, sum(b) / 6
    var_a = sum((x - mean_a) ** 2 for x in a) / 4
    var_b = sum((x - mean_b) ** 2 for x in b) / 5
    se = math.sqrt(var_a / 5 + var_b / 6)
    df = (var_a / 5 + var_b / 6) ** 2 / ((var_a / 5) ** 2 / 4 + (var_b / 6) ** 2 / 5)
    t = (mean_b - mean_a) / se
    low, high, p = welch(np.array(a), np.array(b))
    assert p == pytest.approx(2 * stats.t.sf(t, df), rel=1e-12)
    half = stats.t.ppf(0.975, df) * se
    assert (low, high) == pytest.approx((mean_b - mean_a - half, mean_b - mean_a + half), rel=1e-12)
    assert p < 0.01 < welch(np.array(a), np.array(a) + 0.5)[2]


def test_welch_agrees_with_scipy_and_handles_the_degenerate_cases():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 40), rng.normal(0.3, 2, 55)
    assert welch(x, y)[2] == pytest.approx(stats.ttest_ind(y, x, equal_var=False).pvalue, rel=1e-10)
    assert all(math.isnan(v) for v in welch(np.array([1.0]), y))
    assert welch(np.zeros(5), np.zeros(7)) == (0.0, 0.0, 1.0)


def test_srm_p_value_by_the_closed_forms():
    # df = 1: p = erfc(sqrt(chi2 / 2)); chi2 = (60^2 + 60^2) / 500 = 14.4
    assert srm_p_value([560, 440], [0.5, 0.5]) == pytest.approx(math.erfc(math.sqrt(14.4 / 2)), rel=1e-9)
    # df = 2: p = exp(-chi2 / 2); weights 2:1:1 of 400 -> expected 200, 100, 100
    chi2 = (230 - 200) ** 2 / 200 + (90 - 100) ** 2 / 100 + (80 - 100) ** 2 / 100
    assert srm_p_value([230, 90, 80], [2, 1, 1]) == pytest.approx(math.exp(-chi2 / 2), rel=1e-9)


def persons(groups: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"variant": variant, **columns}) for variant, columns in groups.items()]
    return pd.concat(frames, ignore_index=True)


def outcome_columns(conversions: list[int], revenue: list[float]) -> dict[str, list[float]]:
    return {metric: conversions for metric in METRICS[:3]} | {"revenue_per_user": revenue}


def test_a_small_experiment_by_hand_is_insufficient():
    table = persons(
        {
            "control": outcome_columns([1, 0, 0, 1], [100.0, 0, 0, 50.0]),
            "v2": outcome_columns([1, 1, 0, 1, 1], [80.0, 20.0, 0, 0, 150.0]),
            "ghost": outcome_columns([1], [10.0]),  # an undeclared variant: excluded and counted
        }
    )
    result = experiment_results(Experiment("x", ("control", "v2"), None, "pay_conversion"), table, 2)
    rows = result.set_index(["variant", "metric"])
    v2 = rows.loc[("v2", "revenue_per_user")]
    assert (v2.persons, v2.value_sum, v2["mean"]) == (5, 250.0, 50.0)
    assert v2.variance == pytest.approx(sum((x - 50) ** 2 for x in [80, 20, 0, 0, 150]) / 4)
    assert v2.lift_abs == pytest.approx(50.0 - 37.5) and v2.lift_rel == pytest.approx(12.5 / 37.5)
    control = rows.loc[("control", "pay_conversion")]
    assert control.lift_abs is None and control.p_value is None and control["mean"] == 0.5
    assert set(result.excluded_persons) == {3}
    assert list(result.srm_p_value.unique()) == [pytest.approx(srm_p_value([4, 5], [1, 1]))]
    primary = result[result.metric == "pay_conversion"]
    assert list(primary.decision) == ["insufficient", "insufficient"]
    assert result[result.metric != "pay_conversion"].decision.isna().all()


def simulated(rates: dict[str, float], sizes: dict[str, int], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = {}
    for variant, n in sizes.items():
        converted = (rng.random(n) < rates[variant]).astype(int)
        groups[variant] = outcome_columns(list(converted), list(converted * rng.lognormal(4.8, 0.7, n)))
    return persons(groups)


def primary_decisions(result: pd.DataFrame, metric: str) -> list[str]:
    return list(result[result.metric == metric].decision)


def test_an_effect_is_better_a_mismatch_is_srm_and_nothing_is_no_difference():
    ab = Experiment("x", ("control", "v2"), (0.5, 0.5), "pay_conversion")
    effect = simulated({"control": 0.10, "v2": 0.14}, {"control": 3000, "v2": 3000}, seed=1)
    assert primary_decisions(experiment_results(ab, effect, 0), "pay_conversion") == ["control", "better"]
    mismatch = simulated({"control": 0.10, "v2": 0.14}, {"control": 2800, "v2": 2200}, seed=1)
    assert primary_decisions(experiment_results(ab, mismatch, 0), "pay_conversion") == ["srm", "srm"]
    same = simulated({"control": 0.10, "v2": 0.10}, {"control": 3000, "v2": 3000}, seed=3)  # seed 2 is a 5% one
    assert primary_decisions(experiment_results(ab, same, 0), "pay_conversion") == ["control", "no_difference"]


def test_three_variants_on_revenue_with_planned_weights_and_an_empty_variant():
    three = Experiment("y", ("control", "b", "c"), (2, 1, 1), "revenue_per_user")
    table = simulated({"control": 0.1, "b": 0.1, "c": 0.2}, {"control": 2000, "b": 1000, "c": 1000}, seed=4)
    result = experiment_results(three, table, 0)
    assert result.srm_p_value.iloc[0] == pytest.approx(srm_p_value([2000, 1000, 1000], [2, 1, 1]))
    assert primary_decisions(result, "revenue_per_user")[::2] == ["control", "better"]
    empty = experiment_results(Experiment("z", ("control", "b", "nobody"), None, "pay_conversion"), table, 0)
    assert list(empty[empty.variant == "nobody"].persons.unique()) == [0]
    assert set(primary_decisions(empty, "pay_conversion")) == {"srm"}  # 2000/1000/0 against equal weights


def test_false_positives_and_interval_coverage_are_what_the_levels_promise():
    ab = Experiment("x", ("control", "v2"), None, "order_conversion")
    wrong, covered = 0, 0
    for seed in range(200):
        result = experiment_results(ab, simulated({"control": 0.2, "v2": 0.2}, {"control": 800, "v2": 800}, seed), 0)
        row = result[(result.metric == "order_conversion") & (result.variant == "v2")].iloc[0]
        wrong += row.decision in ("better", "worse")
        covered += row.ci_low <= 0 <= row.ci_high
    assert 0.02 <= wrong / 200 <= 0.09
    assert 0.91 <= covered / 200 <= 0.98


def test_a_missing_outcome_is_an_error_naming_the_column():
    table = persons({"control": outcome_columns([1, 0], [1.0, 0.0]), "v2": outcome_columns([1, 1], [1.0, 2.0])})
    table.loc[0, "revenue_per_user"] = np.nan
    with pytest.raises(ValueError, match="revenue_per_user has missing values"):
        experiment_results(Experiment("x", ("control", "v2"), None, "pay_conversion"), table, 0)
