"""Multi-dimensional root cause: which combinations of dimension values explain a swing. Pure functions.

The input is the metric's leaf slices (one row per combination of every
dimension, e.g. channel x platform x region x app_version) with their actual
(`real`) and expected (`predict`) values, for an additive metric (orders,
paid GMV, events, new users). The answer is a short list of disjoint
elements, each a mapping dimension -> value (dimensions left out mean any
value), so "platform=android & channel=douyin_ads".

The search follows RiskLoc (Kalander 2022, arXiv:2205.10004), the best
published method on its own synthetic benchmarks, vectorised with numpy:

* each leaf's deviation 2 (f - v) / (f + v) splits the leaves in two at a
  cutoff taken from the deviation distribution: the abnormal side (the
  direction of the swing) and the normal rest;
* a leaf's weight is how far it sits from the cutoff (ripple effect: a
  root cause moves all its leaves by about the same relative amount);
* cuboids (sets of dimensions) are searched in increasing layer; in each
  cuboid the candidate is the element with the most explanatory power
  (its share of the change) whose risk (weighted share of abnormal leaves
  minus how unevenly its leaves moved) passes a threshold;
* the best element of the lowest layer that has one is kept, its leaves
  removed, and the search repeats until the abnormal leaves left explain
  too little of the change.

On top of RiskLoc (measured in docs/benchmarks.md): an element must move in
the swing's direction as a whole, so a slice that moved the other way is
never returned, and the shares are of the gross movement in the swing's
direction, so they add up to at most 100%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

REAL = "real"
PREDICT = "predict"
RISK_THRESHOLD = 0.5  # RiskLoc's default
MIN_EXPLAINED = 0.02  # stop when the abnormal leaves left explain less than this of the abnormal side
CUTOFF_OUTLIERS = 5  # deviations ignored at each end when choosing the cutoff (RiskLoc's n_remove)

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


def cutoff(dev: np.ndarray, outliers: int = CUTOFF_OUTLIERS) -> float:
    """The deviation that splits abnormal from normal leaves; its sign says the swing's side.

    As RiskLoc: the smaller in size of the (outliers+1)-th lowest and highest
    distinct deviations, negated. Noise spreads both ways; a root cause pushes
    one tail far out, so the other tail (noise only) sets the bar."""
    distinct = np.unique(dev)
    k = min(outliers, len(distinct) - 1)
    low, high = distinct[k], distinct[len(distinct) - 1 - k]
    return -(low if abs(low) < abs(high) else high)


def _search(
    data: _Leaves, risk_threshold: float, min_explained: float
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """RiskLoc's element search; elements as (dimension indexes, value codes)."""
    v, f = data.real, data.predict
    change = v.sum() - f.sum()
    if change == 0 or len(v) == 0:
        return []
    ep = (v - f) / change
    dev = deviation(v, f)
    cut = cutoff(dev)
    right = cut > 0 or (cut == 0 and math.copysign(1.0, cut) > 0)
    abnormal = dev > cut if right else dev < cut
    weight = np.abs(cut - dev)
    weight[(v == 0) & (f == 0)] = 0.0
    weight = np.minimum(np.where(abnormal, np.abs(dev), weight), 1.0)

    if ep[abnormal].sum() < 0:
        ep = -ep
    threshold = ep[abnormal].sum() * min_explained
    ep_positive = np.where(ep > 0, ep, 0.0)
    comparable = (v != 0) & (f != 0)

    active = np.ones(len(v), dtype=bool)
    pruned: dict[int, np.ndarray] = {}  # layer-1 pruning: dimension -> codes with nothing to explain
    found = []
    while ep[active & abnormal].sum() >= threshold:
        best = None
        for layer in range(1, len(data.dimensions) + 1):
            best_ep = threshold
            for cuboid in combinations(range(len(data.dimensions)), layer):
                keep = active.copy()
                for d in cuboid:
                    if d in pruned:
                        keep &= ~np.isin(data.codes[d], pruned[d])
                group, size, strides = _group_ids(data, cuboid)
                idx = group[keep]
                sums = {
                    name: np.bincount(idx, weights=w[keep], minlength=size)
                    for name, w in (
                        ("ep", ep),
                        ("ep_z", ep_positive),
                        ("abn", abnormal.astype(float)),
                    )
                }
                if layer == 1:
                    present = np.bincount(idx, minlength=size) > 0
                    drop = present & ((sums["ep_z"] < threshold) | (sums["abn"] == 0))
                    d = cuboid[0]
                    pruned[d] = np.union1d(pruned.get(d, np.array([], dtype=np.int64)), np.flatnonzero(drop))
                candidates = np.flatnonzero((sums["abn"] > 0) & (sums["ep"] > best_ep))
                if len(candidates) == 0:
                    continue
                risk = _risk(idx, size, v[keep], f[keep], dev[keep], weight[keep], abnormal[keep], comparable[keep])
                passing = candidates[risk[candidates] >= risk_threshold]
                if len(passing) == 0:
                    continue
                pick = passing[np.argmax(sums["ep"][passing])]
                best_ep = sums["ep"][pick]
                best = (cuboid, _decode(pick, strides))
            if best is not None:
                break
        if best is None:
            break
        found.append(best)
        active &= ~_mask(data, *best)
    return found


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


def _risk(idx, size, v, f, dev, weight, abnormal, comparable) -> np.ndarray:
    """RiskLoc's risk per element: weighted abnormal share minus the unevenness of its leaves' change."""
    anomalous = np.bincount(idx, weights=np.where(abnormal, weight, 0.0), minlength=size)
    normal = np.bincount(idx, weights=np.where(abnormal, 0.0, weight), minlength=size) + 1
    high = anomalous / (anomalous + normal)

    # low risk: leaves rescaled by their element's overall change should match their actual values
    c_idx, c_v, c_f, c_dev = idx[comparable], v[comparable], f[comparable], dev[comparable]
    count = np.bincount(c_idx, minlength=size)
    sum_v = np.bincount(c_idx, weights=c_v, minlength=size)
    sum_f = np.bincount(c_idx, weights=c_f, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sum_f != 0, sum_v / sum_f, 0.0)
        scaled = c_f * ratio[c_idx]
        rescaled_dev = np.nan_to_num(2 * (scaled - c_v) / (scaled + c_v))
        w1 = np.bincount(c_idx, weights=np.abs(rescaled_dev), minlength=size)
        w2 = np.bincount(c_idx, weights=np.abs(c_dev), minlength=size)
        low = np.where((count > 0) & (w2 != 0), w1 / np.where(w2 != 0, w2, 1.0), 0.0)
    return high - low


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
