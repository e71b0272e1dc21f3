"""Campaign review counterfactuals: hand-computed values, injected effects, placebos and measured calibration."""

import numpy as np
import pytest

from ops_pipeline.review.campaigns import PRE_DAYS, Estimate, Series, companywide_estimate, scoped_estimate

DAYS = 14


def _shape(n: int, rng: np.random.Generator, growth: float = 0.10) -> np.ndarray:
    """10%-a-week growth times a weekly season with a random phase."""
    t = np.arange(n)
    return (1 + growth) ** (t / 7) * (1 + 0.15 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 2 * np.pi)))


def _company(seed: int, n: int = PRE_DAYS + DAYS, noise: float = 0.04) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000 * _shape(n, rng) * np.exp(rng.normal(0, noise, n))


def _scoped_pair(seed: int, n: int = PRE_DAYS + DAYS, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    common = _shape(n, rng)
    return 200 * common * np.exp(rng.normal(0, noise, n)), 1000 * common * np.exp(rng.normal(0, noise, n))


def test_scoped_estimate_by_hand_sum():
    scope = np.array([10.0] * PRE_DAYS + [30.0, 30.0])  # pre total 280
    rest = np.array([40.0] * PRE_DAYS + [50.0, 70.0])  # pre total 1120
    est = scoped_estimate(Series(scope), Series(rest), slice(0, 2))
    k = 280 / 1120
    assert est.actual == pytest.approx(60.0)
    assert est.expected == pytest.approx(k * 120)  # 30
    assert est.uplift == pytest.approx(30.0)
    assert est.uplift_pct == pytest.approx(1.0)
    assert est.method == "scoped_ratio"
    # a constant pre log-ratio has zero residual variance: the interval collapses onto the point estimate
    assert est.uplift_low == pytest.approx(30.0) and est.uplift_high == pytest.approx(30.0)


def test_scoped_estimate_by_hand_ratio():
    s_num = np.array([20.0] * PRE_DAYS + [36.0])
    s_den = np.array([100.0] * PRE_DAYS + [120.0])  # pre ratio 0.2, window ratio 0.3
    r_num = np.array([50.0] * PRE_DAYS + [40.0])
    r_den = np.array([500.0] * PRE_DAYS + [500.0])  # pre ratio 0.1, window ratio 0.08
    est = scoped_estimate(Series(s_num, s_den), Series(r_num, r_den), slice(0, 1))
    assert est.actual == pytest.approx(0.3)
    assert est.expected == pytest.approx(0.2 / 0.1 * 0.08)  # 0.16
    assert est.uplift_pct == pytest.approx(0.3 / 0.16 - 1)


def test_trend_trap_companywide_not_fooled_but_naive_baseline_is():
    # a 90% interval flags ~10% of no-effect series by construction (seeds 3, 7, 11 of 0..13 do here); the calibration
    # tests below measure that rate, these single-series tests use a fixed seed outside it
    y = _company(seed=1)
    truth = 1000 * _shape(PRE_DAYS + DAYS, np.random.default_rng(1))[PRE_DAYS:].sum()  # noise-free, no effect
    est = companywide_estimate(Series(y), slice(0, DAYS), seed=0)
    assert not est.significant
    assert abs(est.expected / truth - 1) < 0.05
    # the naive baseline: each campaign day = mean of the same weekday in the last 4 weeks
    naive = sum(np.mean(y[PRE_DAYS + (d % 7) - 7 * np.arange(1, 5)]) for d in range(DAYS))
    assert y[PRE_DAYS:].sum() / naive - 1 > 0.15  # a large false uplift


def test_injected_scoped_effect_recovered():
    scope, rest = _scoped_pair(seed=3)
    base = scope[PRE_DAYS:].sum()
    scope[PRE_DAYS:] *= 1.30
    est = scoped_estimate(Series(scope), Series(rest), slice(0, DAYS))
    true_uplift = 0.30 * base
    assert est.significant
    assert est.uplift_low <= true_uplift <= est.uplift_high


def test_injected_companywide_effect_recovered():
    y = _company(seed=5, n=PRE_DAYS + 7)
    base = y[PRE_DAYS:].sum()
    y[PRE_DAYS:] *= 1.25
    est = companywide_estimate(Series(y), slice(0, 7), seed=0)
    assert est.significant and est.method == "structural"
    assert est.uplift_low <= 0.25 * base <= est.uplift_high


def test_placebo_not_significant():
    scope, rest = _scoped_pair(seed=11)
    assert not scoped_estimate(Series(scope), Series(rest), slice(0, DAYS)).significant
    assert not companywide_estimate(Series(_company(seed=12)), slice(0, DAYS), seed=0).significant


def test_companywide_on_a_noise_free_series_is_its_exact_extrapolation():
    """log y = 5 + 0.01 t + a weekly season, and a 0.1% wobble: the model's slope and season are the
    series' own, so expected is the hand extrapolation exp(5 + 0.01 t + season) summed over the window,
    and the interval is as narrow as the wobble."""
    t = np.arange(PRE_DAYS + 7)
    season = np.array([0.1, 0.0, -0.05, -0.05, 0.0, 0.05, -0.05])[t % 7]
    wobble = 0.001 * np.cos(np.arange(t.size) * 2.3)
    y = np.exp(5 + 0.01 * t + season + wobble)
    est = companywide_estimate(Series(y), slice(0, 7), seed=0)
    hand = np.exp(5 + 0.01 * t[PRE_DAYS:] + season[PRE_DAYS:]).sum()
    assert est.expected == pytest.approx(hand, rel=0.002)
    assert est.uplift_high - est.uplift_low < 0.01 * hand
    assert est.uplift_low <= est.actual - hand <= est.uplift_high


def _slowing(seed: int, n: int = PRE_DAYS + DAYS) -> np.ndarray:
    """Growth that slows down (log level 0.8 (1 - exp(-t/25))), weekly season, 1% noise: a straight-line
    trend overshoots it and, with so little noise, calls every placebo a drop."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 1 + 0.15 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 2 * np.pi))
    return 1000 * np.exp(0.8 * (1 - np.exp(-t / 25))) * season * np.exp(rng.normal(0, 0.01, n))


def _coverage(estimates: list[Estimate]) -> float:
    return float(np.mean([e.uplift_low <= 0 <= e.uplift_high for e in estimates]))


def test_calibration_scoped():
    runs = [scoped_estimate(*map(Series, _scoped_pair(seed=i)), slice(0, DAYS)) for i in range(300)]
    coverage = _coverage(runs)
    print(f"scoped coverage of the zero effect: {coverage:.3f} over {len(runs)} runs")
    assert 0.82 <= coverage <= 0.97


def test_calibration_companywide():
    runs = [companywide_estimate(Series(_company(seed=i)), slice(0, DAYS), seed=i) for i in range(100)]
    coverage = _coverage(runs)
    print(f"structural coverage of the zero effect: {coverage:.3f} over {len(runs)} runs")
    assert 0.82 <= coverage <= 0.97


def test_calibration_companywide_when_growth_slows():
    runs = [companywide_estimate(Series(_slowing(seed=i)), slice(0, DAYS), seed=i) for i in range(60)]
    coverage = _coverage(runs)
    print(f"structural coverage of the zero effect on a bending trend: {coverage:.3f} over {len(runs)} runs")
    assert 0.82 <= coverage <= 1.0


def test_post_campaign_dip():
    days = 7
    y = _company(seed=2, n=PRE_DAYS + days + 7, noise=0.03)
    y[PRE_DAYS : PRE_DAYS + days] *= 1.30
    y[PRE_DAYS + days :] *= 0.80
    for est in (
        companywide_estimate(Series(y), slice(days, days + 7), seed=0),
        scoped_estimate(*map(Series, _dip_pair(days)), slice(days, days + 7)),
    ):
        assert est.significant and est.uplift < 0
        assert est.uplift_pct == pytest.approx(-0.20, abs=0.06)


def _dip_pair(days: int) -> tuple[np.ndarray, np.ndarray]:
    scope, rest = _scoped_pair(seed=4, n=PRE_DAYS + days + 7, noise=0.03)
    scope[PRE_DAYS : PRE_DAYS + days] *= 1.30
    scope[PRE_DAYS + days :] *= 0.80
    return scope, rest


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: scoped_estimate(Series(np.ones(20)), Series(np.ones(20)), slice(0, 1)), "fewer than the 28 pre days"),
        (lambda: companywide_estimate(Series(np.ones(30)), slice(0, 5)), "beyond the data"),
        (lambda: scoped_estimate(Series(np.r_[np.zeros(28), 1.0]), Series(np.ones(29)), slice(0, 1)), "zero pre"),
        (lambda: companywide_estimate(Series(np.r_[np.nan, np.ones(30)]), slice(0, 1)), "NaN"),
        (lambda: scoped_estimate(Series(np.ones(30), np.ones(29)), Series(np.ones(30)), slice(0, 1)), "lengths"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _pay_rate(seed: int, n: int = PRE_DAYS + DAYS) -> tuple[np.ndarray, np.ndarray]:
    """A ratio metric: paying users / dau, the rate with its own weekly season and noise, dau growing."""
    rng = np.random.default_rng(1000 + seed)
    dau = _company(seed=seed, n=n)
    rate = 0.05 * (1 + 0.1 * np.sin(2 * np.pi * np.arange(n) / 7)) * np.exp(rng.normal(0, 0.04, n))
    return dau * rate, dau


def test_companywide_ratio_metric():
    payers, dau = _pay_rate(seed=0)
    est = companywide_estimate(Series(payers, dau), slice(0, DAYS), seed=0)
    assert est.actual == pytest.approx(payers[PRE_DAYS:].sum() / dau[PRE_DAYS:].sum())
    assert not est.significant
    lifted = payers.copy()
    lifted[PRE_DAYS:] *= 1.20
    est = companywide_estimate(Series(lifted, dau), slice(0, DAYS), seed=0)
    true_uplift = 0.20 * payers[PRE_DAYS:].sum() / dau[PRE_DAYS:].sum()
    assert est.significant and est.uplift_low <= true_uplift <= est.uplift_high


def test_calibration_companywide_ratio():
    runs = [companywide_estimate(Series(*_pay_rate(seed=i)), slice(0, DAYS), seed=i) for i in range(100)]
    coverage = _coverage(runs)
    print(f"structural ratio-metric coverage of the zero effect: {coverage:.3f} over {len(runs)} runs")
    assert 0.82 <= coverage <= 0.97


def test_a_sparse_scope_with_empty_days_gets_a_wide_honest_interval():
    """A channel with ~2 sign-ups a day has days with none: no log of zero, an interval as wide as the
    noise, covering the zero effect about 90% of the time, and a tripling still found."""
    covered, found, empty = 0, 0, 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        rest = rng.poisson(200, PRE_DAYS + 7).astype(float)
        scope = rng.poisson(2, PRE_DAYS + 7).astype(float)
        empty += (scope[:PRE_DAYS] == 0).any()
        estimate = scoped_estimate(Series(scope), Series(rest), slice(0, 7))
        assert np.isfinite([estimate.uplift_low, estimate.uplift_high]).all()
        covered += estimate.uplift_low <= 0 <= estimate.uplift_high
        tripled = scope.copy()
        tripled[PRE_DAYS:] = rng.poisson(6, 7)
        found += scoped_estimate(Series(tripled), Series(rest), slice(0, 7)).significant
    assert empty >= 180  # the case at hand: pre-periods with empty days
    assert 0.85 <= covered / 200 <= 0.99
    assert found / 200 >= 0.9
