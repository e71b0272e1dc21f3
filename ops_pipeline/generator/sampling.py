"""Low-variance sampling helpers.

Independent coin flips per person make daily totals wobble by sqrt(n), which on
a few thousand persons is enough to trip the alert detector (median/MAD of the
same weekday) without any incident. These helpers keep every individual
probability exact while making the *totals* nearly deterministic, so the only
swings in the data are the ones we put there on purpose.
"""

from __future__ import annotations

import numpy as np

# Irrational steps for Weyl sequences; pairwise rationally independent, so two
# attributes drawn with different steps are jointly equidistributed.
WEYL_STEPS = {
    "channel": 0.6180339887498949,  # golden ratio - 1
    "register": 0.4142135623730951,  # sqrt(2) - 1
    "delay": 0.7320508075688772,  # sqrt(3) - 1
}


def systematic(rng: np.random.Generator, p: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask with P(mask[i]) == p[i] exactly and sum(mask) == round(sum(p)) +- 1.

    Systematic sampling: one uniform offset, one pick each time the running sum of
    probabilities crosses an integer. Over a random permutation by default; with a
    `key`, over the units sorted by it, which also balances the sample on the key
    (implicit stratification: e.g. today's visitors always hold their fair share of
    big buyers, so orders do not swing with who happened to come by).
    """
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = rng.permutation(n) if key is None else np.argsort(key, kind="stable")
    offset = rng.random()
    running = np.cumsum(np.clip(p[order], 0.0, 1.0)) + offset
    previous = np.concatenate(([offset], running[:-1]))
    mask = np.empty(n, dtype=bool)
    mask[order] = np.floor(running) > np.floor(previous)
    return mask


def weyl(n: int, step: float, rng: np.random.Generator) -> np.ndarray:
    """n well-spread uniforms in [0, 1): frac(u0 + k * step)."""
    return np.modf(rng.random() + np.arange(n) * step)[0]


def stratified_counts(weights: np.ndarray, total: int) -> np.ndarray:
    """Split `total` into integer parts proportional to weights (largest remainder)."""
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(share - counts), kind="stable")[:short]] += 1
    return counts


def norm_ppf(u: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    u = np.clip(np.asarray(u, dtype=np.float64), 1e-12, 1 - 1e-12)
    out = np.empty_like(u)
    low, high = u < 0.02425, u > 1 - 0.02425
    mid = ~(low | high)
    q = u[mid] - 0.5
    r = q * q
    out[mid] = (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )
    for mask, sign in ((low, 1.0), (high, -1.0)):
        q = np.sqrt(-2 * np.log(np.where(sign > 0, u[mask], 1 - u[mask])))
        out[mask] = sign * (
            (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        )
    return out


def stratified_lognormal(rng: np.random.Generator, n: int, median: float, sigma: float) -> np.ndarray:
    """n lognormal draws stratified over quantiles (Latin hypercube) in random order.

    The day's sum of amounts is then close to n * mean, so GMV swings come from
    order counts and incidents, not from one unlucky day of big baskets.
    """
    if n == 0:
        return np.zeros(0)
    # Jitter only around the middle of each stratum: the top stratum of a lognormal
    # is wide, and a full-width draw there is what makes a small day's sum jump.
    u = (rng.permutation(n) + 0.5 + 0.5 * (rng.random(n) - 0.5)) / n
    return median * np.exp(sigma * norm_ppf(u))


def pick_weighted(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right").clip(0, len(weights) - 1)
