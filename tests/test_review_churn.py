"""BG/NBD churn model: closed forms by hand, a fit on a simulated history with known parameters, risk labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ops_pipeline.review.churn import BGNBD, expected_purchases, fit_bgnbd, log_likelihood, p_alive, risk_labels

# The paper's CDNOW estimates (weeks), used as plain numbers for hand computations.
CDNOW = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=float("nan"), users=0)
USERS = [(0, 0.0, 38.0), (2, 30.43, 38.86), (5, 20.5, 36.0)]


def _beta(p: float, q: float) -> float:
    return math.exp(math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q))


def _hand_likelihood(r, alpha, a, b, x, t_x, T) -> float:
    """Paper eq. (6), written out with Beta and Gamma functions."""
    gamma_part = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    first = _beta(a, b + x) / _beta(a, b) * gamma_part / (alpha + T) ** (r + x)
    second = _beta(a + 1, b + x - 1) / _beta(a, b) * gamma_part / (alpha + t_x) ** (r + x) if x > 0 else 0.0
    return first + second


def _hyp2f1_series(a, b, c, z, terms=2000) -> float:
    """Gauss hypergeometric series summed term by term."""
    total, term = 0.0, 1.0
    for n in range(terms):
        total += term
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
    return total


def _columns(users):
    return tuple(np.array(col, dtype=float) for col in zip(*users))


def test_log_likelihood_matches_paper_eq6_by_hand():
    got = log_likelihood(CDNOW.params, *_columns(USERS))
    want = [math.log(_hand_likelihood(*CDNOW.params, x, t_x, T)) for x, t_x, T in USERS]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_p_alive_by_hand():
    r, alpha, a, b = CDNOW.params
    want = []
    for x, t_x, T in USERS:
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        want.append(1 / (1 + odds))
    got = p_alive(CDNOW, *_columns(USERS))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0] == 1.0
    assert 0 < got[1] < 1 and 0 < got[2] < 1


def test_expected_purchases_matches_series_eq10():
    r, alpha, a, b = CDNOW.params
    t = 10.0
    want = []
    for x, t_x, T in USERS:
        z = t / (alpha + T + t)
        f = _hyp2f1_series(r + x, b + x, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * f)
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        want.append(numerator / (1 + odds))
    got = expected_purchases(CDNOW, t, *_columns(USERS))
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert (got > 0).all()


def test_new_customer_expectation_is_unconditional_eq7():
    r, alpha, a, b = CDNOW.params
    for t in (1.0, 5.0, 20.0):
        series = _hyp2f1_series(r, b, a + b - 1, t / (alpha + t))
        eq7 = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * series)
        got = expected_purchases(CDNOW, t, [0], [0.0], [0.0])
        assert got[0] == pytest.approx(eq7, rel=1e-9)


def simulate(n, r, alpha, a, b, seed, T=None):
    """BG/NBD story: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); Poisson purchases; after each repeat purchase
    the customer drops out with probability p. Returns x, t_x, T, alive-at-T."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 365, n) if T is None else np.full(n, float(T))
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    drop_after = rng.geometric(p)  # the repeat purchase after which the customer drops out
    purchases = rng.poisson(lam * T)  # purchases in (0, T] had the customer never dropped out
    alive = purchases < drop_after
    x = np.where(alive, purchases, drop_after)
    # The last counted purchase time: the x-th order statistic of `purchases` uniform points in (0, T].
    kth = np.maximum(x, 1)
    t_x = np.where(x > 0, T * rng.beta(kth, np.maximum(purchases - kth + 1, 1)), 0.0)
    return x.astype(float), t_x, T, alive


TRUE = dict(r=0.8, alpha=20.0, a=0.9, b=3.0)


@pytest.fixture(scope="module")
def simulated():
    x, t_x, T, alive = simulate(20_000, **TRUE, seed=17)
    return x, t_x, T, alive, fit_bgnbd(x, t_x, T)


def test_fit_recovers_true_parameters(simulated):
    x, t_x, T, _, model = simulated
    assert model.users == 20_000
    # Relative errors over seeds 1-4 and 17: r <= 1.5%, alpha <= 2%, a <= 6.3%, b <= 9.9%; tolerances ~2.5 sd.
    for name, tol in (("r", 0.05), ("alpha", 0.06), ("a", 0.12), ("b", 0.15)):
        assert getattr(model, name) == pytest.approx(TRUE[name], rel=tol), name
    at_truth = log_likelihood(tuple(TRUE.values()), x, t_x, T).sum()
    assert model.log_likelihood >= at_truth
    assert model.log_likelihood == pytest.approx(log_likelihood(model.params, x, t_x, T).sum(), rel=1e-12)


def test_fit_gradient_matches_finite_differences():
    from ops_pipeline.review.churn import _gradient, _log_likelihood

    x, t_x, T = _columns(USERS)
    params = np.array(CDNOW.params)
    got = _gradient(params, x, t_x, T)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * params[i]
        diff = (_log_likelihood(params + step, x, t_x, T) - _log_likelihood(params - step, x, t_x, T)) / (2 * step[i])
        np.testing.assert_allclose(got[i], diff, rtol=1e-6, atol=1e-8)


def test_p_alive_is_calibrated(simulated):
    x, t_x, T, alive, model = simulated
    p = p_alive(model, x, t_x, T)
    band = (p >= 0.4) & (p <= 0.6)
    assert band.sum() > 200
    assert alive[band].mean() == pytest.approx(0.5, abs=0.08)


def test_unconditional_expectation_matches_simulation():
    t = 60.0
    x, _, _, _ = simulate(200_000, **TRUE, seed=5, T=t)
    model = BGNBD(**TRUE, log_likelihood=float("nan"), users=0)
    expected = expected_purchases(model, t, [0], [0.0], [0.0])[0]
    assert x.mean() == pytest.approx(expected, rel=0.03)


def test_risk_labels_with_ties():
    # monetary ascending ranks: 10 -> 0, 20,20 -> 1/5, 30 -> 3/5, 40,40 -> 4/5
    monetary = [40, 20, 30, 10, 40, 20]
    alive = [0.1, 0.2, 0.3, 0.4, 0.9, 0.5]
    assert list(risk_labels(alive, monetary)) == ["high", "medium", "high", "medium", "low", "low"]
    assert list(risk_labels([0.2], [5.0])) == ["medium"]
    assert list(risk_labels([0.2, 0.2], [5.0, 5.0])) == ["medium", "medium"]


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [1.0], [2.0, 3.0], "equal length"),
        ([], [], [], "empty"),
        ([-1], [0.0], [3.0], "non-negative integers"),
        ([1.5], [1.0], [3.0], "non-negative integers"),
        ([1], [-1.0], [3.0], "recency must be >= 0"),
        ([1], [4.0], [3.0], "recency must be <= T"),
        ([0], [1.0], [3.0], "recency must be 0 when frequency is 0"),
        ([1], [float("nan")], [3.0], "finite"),
    ],
)
def test_bad_input_is_named(frequency, recency, T, message):
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(frequency, recency, T)
    with pytest.raises(ValueError, match=message):
        p_alive(CDNOW, frequency, recency, T)


def test_risk_labels_length_mismatch():
    with pytest.raises(ValueError, match="equal length"):
        risk_labels([0.1, 0.2], [1.0])
