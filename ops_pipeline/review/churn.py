"""Churn risk with the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"), in days.

Per user: frequency x (repeat paid-order days), recency t_x (days from first to last paid order) and T (days
from first paid order to the as-of date). All functions are vectorised over users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # at the optimum, summed over users
    users: int

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b)."""
        return (self.r, self.alpha, self.a, self.b)


def _validate(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, t_x, T as float arrays; raise ValueError naming the problem."""
    x, t_x, t = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
    if not (len(x) == len(t_x) == len(t)):
        raise ValueError(f"frequency, recency and T must have equal length, got {len(x)}, {len(t_x)}, {len(t)}")
    if len(x) == 0:
        raise ValueError("no users: frequency, recency and T are empty")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(t).all()):
        raise ValueError("frequency, recency and T must be finite")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must be non-negative integers")
    if (t_x < 0).any():
        raise ValueError("recency must be >= 0")
    if (t_x > t).any():
        raise ValueError("recency must be <= T")
    if ((x == 0) & (t_x != 0)).any():
        raise ValueError("recency must be 0 when frequency is 0")
    return x, t_x, t


def _terms(params, x: np.ndarray, t_x: np.ndarray, t: np.ndarray):
    """Logs of the common factor and of the two summands of paper eq. (6); the second is -inf when x == 0."""
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_a1 = betaln(a, b + x) - (r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a2 = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return common, log_a1, log_a2


def _log_likelihood(params, x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-user log of paper eq. (6) on validated arrays."""
    common, log_a1, log_a2 = _terms(params, x, t_x, t)
    return common + np.logaddexp(log_a1, log_a2)


def _gradient(params, x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-user gradient of the log-likelihood with respect to (r, alpha, a, b), shape (4, users)."""
    r, alpha, a, b = params
    _, log_a1, log_a2 = _terms(params, x, t_x, t)
    total = np.logaddexp(log_a1, log_a2)
    w1, w2 = np.exp(log_a1 - total), np.exp(log_a2 - total)  # shares of the two summands
    psi_abx = digamma(a + b + x)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi_b2 = np.where(x > 0, digamma(np.maximum(b + x - 1, 1e-300)), 0.0)
    return np.stack(
        [
            digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + t) - w2 * np.log(alpha + t_x),
            r / alpha - (r + x) * (w1 / (alpha + t) + w2 / (alpha + t_x)),
            digamma(a + b) - digamma(a) + w1 * (digamma(a) - psi_abx) + w2 * (digamma(a + 1) - psi_abx),
            digamma(a + b) - digamma(b) + w1 * (digamma(b + x) - psi_abx) + w2 * (psi_b2 - psi_abx),
        ]
    )


def log_likelihood(params: tuple[float, float, float, float], frequency, recency, T) -> np.ndarray:
    """Per-user BG/NBD log-likelihood, paper eq. (6), for params (r, alpha, a, b)."""
    return _log_likelihood(params, *_validate(frequency, recency, T))


def fit_bgnbd(frequency, recency, T) -> BGNBD:
    """Maximum-likelihood BG/NBD fit: L-BFGS-B with the analytic gradient on log-parameters, users grouped by
    identical (x, t_x, T)."""
    x, t_x, t = _validate(frequency, recency, T)
    keys, counts = np.unique(np.column_stack([x, t_x, t]), axis=0, return_counts=True)
    ux, ut_x, ut = keys.T

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -float(counts @ _log_likelihood(params, ux, ut_x, ut))
        if not np.isfinite(value):
            return 1e300, np.zeros(4)
        return value, -(_gradient(params, ux, ut_x, ut) @ counts) * params

    start = np.log([1.0, max(float(t.mean()), 1.0), 1.0, 1.0])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(-12.0, 12.0)] * 4)
    if not result.success:
        raise RuntimeError(f"BG/NBD fit did not converge: {result.message}")
    r, alpha, a, b = np.exp(result.x)
    return BGNBD(float(r), float(alpha), float(a), float(b), -float(result.fun), len(x))


def _odds_dead(model: BGNBD, x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(x>0) * a/(b+x-1) * ((alpha+T)/(alpha+t_x))**(r+x): odds of having dropped out after the last purchase."""
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = model.a / (model.b + x - 1) * ((model.alpha + t) / (model.alpha + t_x)) ** (model.r + x)
    return np.where(x > 0, odds, 0.0)


def p_alive(model: BGNBD, frequency, recency, T) -> np.ndarray:
    """P(alive at T | x, t_x, T); 1 when x == 0."""
    x, t_x, t = _validate(frequency, recency, T)
    return 1.0 / (1.0 + _odds_dead(model, x, t_x, t))


def expected_purchases(model: BGNBD, t, frequency, recency, T) -> np.ndarray:
    """E[X(T, T+t) | x, t_x, T], paper eq. (10): expected repeat purchases in the next t days.

    The closed form needs a > 1; for a <= 1 the formula is still evaluated as is (the result is then not
    a proper expectation and may be negative or infinite).
    """
    x, t_x, big_t = _validate(frequency, recency, T)
    t = np.asarray(t, dtype=float)
    if (t < 0).any():
        raise ValueError("t must be >= 0")
    r, alpha, a, b = model.params
    z = t / (alpha + big_t + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * tail / (1.0 + _odds_dead(model, x, t_x, big_t))


def _percent_rank(values: np.ndarray) -> np.ndarray:
    """SQL percent_rank ascending: (rank - 1) / (n - 1), ties share the lowest rank; 0 for one value."""
    n = len(values)
    if n <= 1:
        return np.zeros(n)
    lowest_rank = np.searchsorted(np.sort(values), values, side="left")
    return lowest_rank / (n - 1)


def risk_labels(p_alive, monetary) -> np.ndarray:
    """'high' when p_alive < 0.5 and monetary in the top 40% (percent rank >= 0.6), 'medium' when p_alive < 0.5,
    else 'low'."""
    p, m = np.asarray(p_alive, dtype=float).ravel(), np.asarray(monetary, dtype=float).ravel()
    if len(p) != len(m):
        raise ValueError(f"p_alive and monetary must have equal length, got {len(p)} and {len(m)}")
    if np.isnan(m).any() or np.isnan(p).any():
        raise ValueError("p_alive and monetary must not contain NaN")
    at_risk = p < 0.5
    return np.where(at_risk & (_percent_rank(m) >= 0.6), "high", np.where(at_risk, "medium", "low"))
