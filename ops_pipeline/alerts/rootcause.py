"""Multi-dimensional root cause: which combinations of dimension values explain a swing. Pure functions.

The input is the metric's leaf slices (one row per combination of every
dimension, e.g. channel x platform x region x app_version) with their actual
(`real`) and expected (`predict`) values, for an additive metric (orders,
paid GMV, events, new users). The answer is a short list of disjoint
elements, each a mapping dimension -> value (dimensions left out mean any
value), so "platform=android & channel=douyin_ads".

The search follows RiskLoc (Kalander 2022, arXiv:2205.10004), the best
published method on its own synthetic benchmarks, vectorised with numpy:

* each leaf's deviation 2 (f - v) / (f + v) splits the leaves in two: the
  abnormal side (past the noise, in the swing's direction) and the rest;
* a leaf's weight is how far it sits past the noise (ripple effect: a root
  cause moves all its leaves by about the same relative amount);
* cuboids (sets of dimensions) are searched in increasing layer; in each
  cuboid the candidate is the element with the most explanatory power
  (its share of the change) whose risk (weighted share of abnormal leaves
  minus how unevenly its leaves moved) passes a threshold;
* the best element of the lowest layer that has one is kept, its leaves
  removed, and the search repeats until no element passes.

What differs from RiskLoc, each measured on generated development cases
and then on the benchmark (docs/benchmarks.md): the swing's side comes from
the total's change; the abnormal side starts past the noise's top 1% while
weights stay in units of the noise's reach, so a cause under heavy noise is
not found in fragments and a single leaf dropping by less than half can
still be one; no explained-share stop (the risk test decides). An element
moves in the swing's direction as a whole, so a slice that moved the other
way is never returned, and the shares are of the gross movement in the
swing's direction, so they add up to at most 100%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

REAL = "real"
PREDICT = "predict"
RISK_THRESHOLD = 0.5  # RiskLoc's default
# RiskLoc stops when the abnormal leaves left explain less than 2% of the abnormal side; that threshold
# cost more true causes than it saved false ones on development cases (docs/benchmarks.md): the risk
# test alone decides.
MIN_EXPLAINED = 0.0
ABNORMAL_SCALE = 1.5  # an abnormal leaf weighs fully from 1.5 x the noise bar on (tuned on development cases)
# Deviations ignored at the end of the noise tail when choosing the cutoff: RiskLoc ignores 5 (its
# n_remove; root-cause leaves on the wrong side) in cases of 10^4 leaves and more; here one per thousand
# leaves, up to 5, so a drill-down over a few hundred slices takes the noise's most extreme deviation.
CUTOFF_OUTLIERS = 5
LEAVES_PER_OUTLIER = 1000
PARTITION_SHARE = 0.01  # abnormal: past the noise's top 1% (tuned on development cases)

# a single leaf's risk is at most exactly the threshold (0.5): rounding in its rescaled deviation must not drop it
_ROUNDING = 1e-9

_Element = tuple[tuple[int, ...], tuple[int, ...]]  # (dimension indexes, value codes)


@dataclass(frozen=True)
class RootCause:
    element: Mapping[str, str]  # dimension -> value; a dimension left out means any value
    share: float  # of the movement in the swing's direction, 0..1; the shares of a result add up to <= 1
    actual: float
    expected: float

    @property
    def label(self) -> str:
        return " x ".join(str(v) for v in self.element.values())

    def as_dict(self) -> dict:
        return {"element": dict(self.element), "share": self.share, "actual": self.actual, "expected": self.expected}


@dataclass
class _Leaves:
    """The leaves as arrays: dimension codes, values and the per-leaf scores of the search."""

    dimensions: list[str]
    codes: list[np.ndarray]  # per dimension, int codes into values[d]
    values: list[np.ndarray]  # per dimension, the distinct values
    real: np.ndarray
    predict: np.ndarray


def find_root_causes(
    leaves: pd.DataFrame,
    dimensions: Sequence[str] | None = None,
    *,
    risk_threshold: float = RISK_THRESHOLD,
    min_explained: float = MIN_EXPLAINED,
) -> list[RootCause]:
    """The elements that explain the change of sum(real) against sum(predict), most explanatory first.

    `leaves` has one row per leaf slice: a column per dimension plus `real`
    and `predict` (non-negative numbers). `dimensions` defaults to every other
    column. An empty list means no combination stands out (noise only, or no
    change at all)."""
    dims = list(dimensions) if dimensions is not None else [c for c in leaves.columns if c not in (REAL, PREDICT)]
    data = _as_arrays(leaves, dims)
    found = _search(data, risk_threshold, min_explained)
    return _with_shares(data, found)


def _as_arrays(leaves: pd.DataFrame, dims: list[str]) -> _Leaves:
    codes, values = [], []
    for dim in dims:
        code, uniques = pd.factorize(leaves[dim].astype(str), sort=True)
        codes.append(code.astype(np.int64))
        values.append(np.asarray(uniques, dtype=object))
    real = leaves[REAL].to_numpy(dtype=float)
    predict = leaves[PREDICT].to_numpy(dtype=float)
    return _Leaves(dims, codes, values, real, predict)


def deviation(real: np.ndarray, predict: np.ndarray) -> np.ndarray:
    """2 (predict - real) / (predict + real), 0 where both are 0: positive for a drop."""
    total = predict + real
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(total != 0, 2 * (predict - real) / np.where(total != 0, total, 1.0), 0.0)
    return dev


def noise_bar(dev: np.ndarray, drop: bool, outliers: int) -> float:
    """The (outliers+1)-th most extreme distinct deviation against the swing, mirrored to the swing's side.

    Only noise lives on the side against the swing, so it says how far noise
    alone reaches. Unlike RiskLoc the side comes from the total's change, not
    from which tail is shorter: with noise skewed one way and the swing the
    other, RiskLoc looks for the cause on the wrong side."""
    distinct = np.unique(dev)
    k = min(outliers, len(distinct) - 1)
    if drop:
        return max(-distinct[k], 0.0)
    return min(-distinct[len(distinct) - 1 - k], 0.0)


def _search(data: _Leaves, risk_threshold: float, min_explained: float) -> list[_Element]:
    """RiskLoc's element search; elements as (dimension indexes, value codes)."""
    v, f = data.real, data.predict
    change = v.sum() - f.sum()
    if change == 0 or len(v) == 0:
        return []
    ep = (v - f) / change  # explanatory power: the leaf's share of the change
    dev = deviation(v, f)
    drop = change < 0
    # RiskLoc has one cutoff, the noise's reach, for both the partition and the weights; with heavy noise
    # the leaves of a real cause then mostly fall on the normal side and it is found in hundreds of
    # fragments. Here the partition takes the leaves past the noise's top 1%, and the weights stay in
    # units of its reach.
    cut = noise_bar(dev, drop, min(CUTOFF_OUTLIERS, len(v) // LEAVES_PER_OUTLIER))
    bar = noise_bar(dev, drop, int(len(v) * PARTITION_SHARE))
    abnormal = dev > bar if drop else dev < bar
    # Ripple effect: an abnormal leaf weighs its deviation in units of the noise's reach (RiskLoc: in
    # absolute units, so that a single leaf below |dev| = 1, a 50% drop, can never pass); a normal leaf,
    # its distance below the partition bar.
    weight = np.where(abnormal, np.abs(dev) / max(ABNORMAL_SCALE * abs(cut), _ROUNDING), np.abs(bar - dev))
    weight[(v == 0) & (f == 0)] = 0.0
    weight = np.minimum(weight, 1.0)
    threshold = ep[abnormal].sum() * min_explained
    ep_positive = np.where(ep > 0, ep, 0.0)
    comparable = (v != 0) & (f != 0)
    scores = _LeafScores(
        v, f, np.abs(dev), np.where(abnormal, weight, 0.0), np.where(abnormal, 0.0, weight), comparable
    )

    sums = {
        cuboid: _CuboidSums(*_group_ids(data, cuboid), ep, ep_positive, abnormal)
        for layer in range(1, len(data.dimensions) + 1)
        for cuboid in combinations(range(len(data.dimensions)), layer)
    }
    active = np.ones(len(v), dtype=bool)
    # per dimension, the leaves of its values with nothing to explain (RiskLoc's element pruning)
    allowed_by_dim = [np.ones(len(v), dtype=bool) for _ in data.dimensions]
    found = []
    while ep[active & abnormal].sum() >= threshold:
        best = None
        for layer in range(1, len(data.dimensions) + 1):
            best_ep = threshold
            for cuboid in combinations(range(len(data.dimensions)), layer):
                keep = active.copy()
                for d in cuboid:
                    keep &= allowed_by_dim[d]
                cuboid_sums = sums[cuboid]
                cuboid_sums.restrict(keep)
                group, size, strides = cuboid_sums.group, cuboid_sums.size, cuboid_sums.strides
                ep_sum, abnormal_count = cuboid_sums.ep, cuboid_sums.abnormal
                if layer == 1:
                    # RiskLoc's element pruning: a value with no abnormal leaf or nothing to explain is
                    # left out of every cuboid holding its dimension
                    present = cuboid_sums.count > 0
                    drop_codes = present & ((cuboid_sums.explained < threshold) | (abnormal_count == 0))
                    allowed_by_dim[cuboid[0]] &= ~drop_codes[data.codes[cuboid[0]]]
                candidates = np.flatnonzero((abnormal_count > 0) & (ep_sum > best_ep))
                if len(candidates) == 0:
                    continue
                risk = _risk(group, size, keep, candidates, scores, risk_threshold - _ROUNDING)
                passing = candidates[risk >= risk_threshold - _ROUNDING]
                if len(passing) == 0:
                    continue
                pick = passing[np.argmax(ep_sum[passing])]
                best_ep = ep_sum[pick]
                best = (cuboid, _decode(pick, strides))
            if best is not None:
                break
        if best is None:
            break
        found.append(best)
        active &= ~_mask(data, *best)
    return found


@dataclass(frozen=True)
class _LeafScores:
    real: np.ndarray
    predict: np.ndarray
    abs_deviation: np.ndarray
    abnormal_weight: np.ndarray  # the weight of an abnormal leaf, else 0
    normal_weight: np.ndarray  # the weight of a normal leaf, else 0
    comparable: np.ndarray  # real and predict both non-zero: a relative change exists


class _CuboidSums:
    """Per element of one cuboid, sums over its kept leaves, updated as leaves leave (found or pruned)."""

    def __init__(self, group: np.ndarray, size: int, strides: list[int], ep, ep_positive, abnormal) -> None:
        self.group, self.size, self.strides = group, size, strides
        self._leaf_values = (ep, ep_positive, abnormal.astype(float))
        self.kept = np.ones(len(group), dtype=bool)
        self.count = np.bincount(group, minlength=size).astype(float)
        self.ep, self.explained, self.abnormal = (
            np.bincount(group, weights=w, minlength=size) for w in self._leaf_values
        )

    def restrict(self, keep: np.ndarray) -> None:
        """Keep only the leaves of `keep` (a subset of the kept ones): subtract the leaves that left."""
        gone = np.flatnonzero(self.kept & ~keep)
        if len(gone) == 0:
            return
        self.kept = keep
        idx = self.group[gone]
        self.count -= np.bincount(idx, minlength=self.size)
        for total, w in zip((self.ep, self.explained, self.abnormal), self._leaf_values):
            total -= np.bincount(idx, weights=w[gone], minlength=self.size)


def _group_ids(data: _Leaves, cuboid: tuple[int, ...]) -> tuple[np.ndarray, int, list[int]]:
    """Each leaf's element id in the cuboid (mixed radix over the dimensions' codes)."""
    group = np.zeros(len(data.real), dtype=np.int64)
    strides, size = [], 1
    for d in reversed(cuboid):
        strides.append(size)
        group += data.codes[d] * size
        size *= len(data.values[d])
    return group, size, list(reversed(strides))


def _decode(group: int, strides: list[int]) -> tuple[int, ...]:
    codes = []
    for stride in strides:
        codes.append(int(group // stride))
        group %= stride
    return tuple(codes)


def _risk(
    group: np.ndarray, size: int, keep: np.ndarray, candidates: np.ndarray, s: _LeafScores, threshold: float
) -> np.ndarray:
    """RiskLoc's risk of each candidate element: weighted abnormal share minus the unevenness of its leaves.

    Computed on the candidates' leaves only, and the unevenness only where the
    abnormal share alone reaches the threshold (-inf elsewhere): the risk is
    never above it."""
    is_candidate = np.zeros(size, dtype=bool)
    is_candidate[candidates] = True
    rows = np.flatnonzero(keep & is_candidate[group])
    idx = group[rows]
    anomalous = np.bincount(idx, weights=s.abnormal_weight[rows], minlength=size)[candidates]
    normal = np.bincount(idx, weights=s.normal_weight[rows], minlength=size)[candidates] + 1
    high = anomalous / (anomalous + normal)
    risk = np.full(len(candidates), -np.inf)
    hopeful = high >= threshold
    if not hopeful.any():
        return risk

    # low risk: the leaves rescaled by their element's overall change should match their actual values
    is_candidate[candidates[~hopeful]] = False
    rows = rows[s.comparable[rows] & is_candidate[idx]]
    idx, v, f = group[rows], s.real[rows], s.predict[rows]
    sum_v = np.bincount(idx, weights=v, minlength=size)
    sum_f = np.bincount(idx, weights=f, minlength=size)
    ratio = np.divide(sum_v, sum_f, out=np.zeros(size), where=sum_f != 0)
    scaled = f * ratio[idx]
    total = scaled + v  # > 0: v and f are both non-zero here
    rescaled_dev = np.abs(2 * (scaled - v) / total)
    w1 = np.bincount(idx, weights=rescaled_dev, minlength=size)[candidates]
    w2 = np.bincount(idx, weights=s.abs_deviation[rows], minlength=size)[candidates]
    low = np.divide(w1, w2, out=np.zeros(len(candidates)), where=w2 != 0)
    risk[hopeful] = (high - low)[hopeful]
    return risk


def _mask(data: _Leaves, cuboid: tuple[int, ...], codes: tuple[int, ...]) -> np.ndarray:
    mask = np.ones(len(data.real), dtype=bool)
    for d, code in zip(cuboid, codes):
        mask &= data.codes[d] == code
    return mask


def _with_shares(data: _Leaves, found: list[_Element]) -> list[RootCause]:
    v, f = data.real, data.predict
    effect = v - f
    direction = np.sign(effect.sum())
    gross = effect[np.sign(effect) == direction].sum() if direction else 0.0
    causes = []
    claimed = np.zeros(len(v), dtype=bool)  # a leaf counts for the first element that holds it
    for cuboid, codes in found:
        mask = _mask(data, cuboid, codes) & ~claimed
        claimed |= mask
        moved = effect[mask].sum()
        if gross == 0 or np.sign(moved) != direction:
            continue  # moved against the swing (or not at all): not a cause of it
        element = {data.dimensions[d]: str(data.values[d][c]) for d, c in zip(cuboid, codes)}
        causes.append(RootCause(element, float(moved / gross), float(v[mask].sum()), float(f[mask].sum())))
    return sorted(causes, key=lambda c: -c.share)
