"""Detection and attribution (pure functions) on hand-computed numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ops_pipeline.alerts.attribution import SliceObservation, contributions, explain
from ops_pipeline.alerts.detection import (
    ALERT,
    INSUFFICIENT_HISTORY,
    LOW_VOLUME,
    NO_DATA,
    OK,
    Rule,
    baseline,
    detect,
)

D = date(2026, 3, 1)


def _history() -> dict[date, float]:
    """28 days before D: the same weekday as D was 110, 90, 100 and an outlier 300 (1..4 weeks ago);
    every other weekday ran 100, 104, 96, 100 (from 4 weeks ago to 1 week ago)."""
    series = {}
    for back in range(1, 29):
        week = (back - 1) // 7  # 0 = last week
        if back % 7 == 0:
            series[D - timedelta(days=back)] = {7: 110.0, 14: 90.0, 21: 100.0, 28: 300.0}[back]
        else:
            series[D - timedelta(days=back)] = [100.0, 96.0, 104.0, 100.0][week]
    return series


def test_baseline_is_the_same_weekday_median_and_a_leave_one_out_mad():
    base = baseline(_history(), D)
    # median(110, 90, 100, 300) = 105: the outlier does not drag it (the mean would be 150)
    assert base.expected == 105.0
    # leave-one-out errors: same weekday 10, 20, 10, 200; other weekdays 0, 4, 4, 0 (x6):
    # the median of the 28 errors is 4, and the scale is 1.4826 * 4
    assert base.scale == pytest.approx(1.4826 * 4)
    assert base.history_days == 28


def test_detect_fires_on_a_large_robust_swing_with_the_numbers():
    detection = detect(140.0, baseline(_history(), D), Rule())
    assert detection.decision == ALERT
    assert detection.z == pytest.approx(35 / (1.4826 * 4))
    assert detection.relative_change == pytest.approx(35 / 105)
    assert "rise" in detection.reason


@pytest.mark.parametrize(
    "rule, value, decision, words",
    [
        (Rule(direction="down"), 140.0, OK, "direction down"),
        (Rule(min_relative_change=0.4), 140.0, OK, "within ±40%"),
        (Rule(sensitivity=6.0), 140.0, OK, "below sensitivity 6"),
        (Rule(min_volume=200), 140.0, LOW_VOLUME, "below min_volume 200"),
        (Rule(), 108.0, OK, "below sensitivity"),
        (Rule(direction="down"), 20.0, ALERT, "drop"),
    ],
)
def test_each_condition_can_hold_the_alert_back(rule, value, decision, words):
    detection = detect(value, baseline(_history(), D), rule)
    assert detection.decision == decision
    assert words in detection.reason


def test_a_collapse_to_almost_nothing_is_not_muted_as_low_volume():
    # min_volume looks at the larger of actual and expected: 105 expected passes 100
    assert detect(3.0, baseline(_history(), D), Rule(min_volume=100)).decision == ALERT


def test_less_than_14_days_of_history_says_why():
    short = {d: v for d, v in _history().items() if d >= D - timedelta(days=13)}
    detection = detect(500.0, baseline(short, D), Rule())
    assert detection.decision == INSUFFICIENT_HISTORY
    assert "13 day(s)" in detection.reason and "need 14" in detection.reason
    assert detect(None, baseline(_history(), D), Rule()).decision == NO_DATA


def test_only_history_before_d_counts():
    history = _history() | {D: 1000.0, D + timedelta(days=1): 1000.0}
    assert baseline(history, D).expected == 105.0


def test_contribution_is_the_slice_change_over_the_total_change():
    platform = [
        SliceObservation("ios", 5, 35),
        SliceObservation("android", 40, 45),
        SliceObservation("web", 7, 8),
        SliceObservation("mini_program", 8, 12),
    ]
    shares = {c.dimension_value: c for c in contributions(60 - 100, platform, ratio=False)}
    assert shares["ios"].share == pytest.approx(30 / 40)
    assert shares["android"].share == pytest.approx(5 / 40)
    assert shares["ios"].relative_change == pytest.approx(-30 / 35)
    assert shares["ios"].baseline_share == pytest.approx(0.35)


def test_the_dimension_where_one_slice_departs_from_its_size_explains_the_drop():
    platform = [
        SliceObservation("ios", 5, 35),
        SliceObservation("android", 40, 45),
        SliceObservation("web", 7, 8),
        SliceObservation("mini_program", 8, 12),
    ]
    # a channel split that moved in proportion: each channel lost what its size implies
    channel = [SliceObservation("organic", 30, 50), SliceObservation("douyin_ads", 30, 50)]
    drill = explain(60, 100, {"channel": channel, "platform": platform})
    assert drill.dimension == "platform"
    # ios explains 75% of the drop against 35% of the volume: score 0.40; channel 0
    assert drill.score == pytest.approx(0.40)
    assert drill.scores["channel"] == pytest.approx(0.0)
    assert [s.dimension_value for s in drill.top] == ["ios", "android", "mini_program"]
    assert drill.concentrated


def test_ratio_slices_contribute_their_shift_share_effects():
    # same ratios, more traffic from the slice that converts better: a pure mix effect
    slices = [
        SliceObservation("a", actual=0.2, expected=0.2, actual_weight=50, expected_weight=100),
        SliceObservation("b", actual=0.6, expected=0.6, actual_weight=150, expected_weight=100),
    ]
    # expected total 0.5*0.2 + 0.5*0.6 = 0.4; actual 0.25*0.2 + 0.75*0.6 = 0.5
    shares = {c.dimension_value: c.share for c in contributions(0.5 - 0.4, slices, ratio=True)}
    # a: (0.25-0.5)*(0.2-0.4) = 0.05; b: (0.75-0.5)*(0.6-0.4) = 0.05: half each
    assert shares == {"a": pytest.approx(0.5), "b": pytest.approx(0.5)}
    own = [
        SliceObservation("ios", actual=0.25, expected=0.5, actual_weight=100, expected_weight=100),
        SliceObservation("android", actual=0.5, expected=0.5, actual_weight=100, expected_weight=100),
    ]
    drill = explain(0.375, 0.5, {"platform": own}, ratio=True)
    assert drill.top[0].dimension_value == "ios" and drill.top[0].share == pytest.approx(1.0)
    assert drill.top[0].relative_change == pytest.approx(-0.5)


def test_a_ratio_of_counts_is_never_trusted_quieter_than_half_its_sampling_noise():
    import pandas as pd

    from ops_pipeline.alerts.evaluation import with_sampling_floor
    from ops_pipeline.alerts.series import MetricStore

    days = [D - timedelta(days=back) for back in range(28, 0, -1)]
    # a pay rate of exactly 50 payers in 100 visitors every day: MAD 0
    frame = pd.DataFrame(
        [(d, "pay_rate", "all", "all", 0.5, 50.0, 100.0) for d in days],
        columns=["date", "metric", "dimension", "dimension_value", "value", "numerator", "denominator"],
    )
    store = MetricStore.from_frame(frame)
    base = baseline(store.series("pay_rate"), D)
    assert base.scale == pytest.approx(0.005 * 0.5)  # the 0.5%-of-expected floor of detection
    floored = with_sampling_floor(store, "pay_rate", "all", "all", D, base)
    # binomial noise sqrt(0.5 * 0.5 / 100) = 0.05, half of it trusted
    assert floored.scale == pytest.approx(0.025)
    # 40 payers instead of 50 is -20%, 4 z-units of that floor (it would be 80 of the MAD floor)
    assert detect(0.4, floored, Rule()).z == pytest.approx(-4.0)
