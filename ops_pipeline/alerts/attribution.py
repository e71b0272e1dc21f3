"""Drill-down: which slice drove a swing of the total (docs/alerting.md, Explanation). Pure functions.

Every slice has its own actual and expected value (expected computed the same
way as the total's). A slice's contribution is its effect on the total over
the total's change, (slice actual - slice expected) / (total actual - total
expected), so "ios: 87% of the drop". For a ratio (pay rate, CTR, ...) a
slice's own ratio is not in the total's units, so its effect is its part of
the shift-share decomposition of the total ratio: weight x (own change) plus
(change of weight) x (own expected - total expected), with weights the
slices' shares of the denominator.

Each dimension is scored by its slice that explains the most beyond its
usual size: max over slices of (share of the change - usual share), the
usual share being the slice's share of the total's expected value (of the
expected denominator for a ratio). A drop spread evenly over every platform
scores ~0 for platform; a drop that sits in one channel scores close to
1 - that channel's size. The dimension with the highest score explains the
swing; its top three slices by share are reported. (Measured on injected
swings, backtest.py, this beat summing the excess over all slices, with
or without a noise allowance: many small noisy slices, such as regions,
otherwise add up to a false story.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

from ops_pipeline.alerts.detection import relative_change

TOP_SLICES = 3
MIN_LISTED_SHARE = 0.05  # a slice with less of the change than this is not worth a line
# Below this score no slice stands out: the change is spread over the dimension.
CONCENTRATION_THRESHOLD = 0.15


@dataclass(frozen=True)
class SliceObservation:
    dimension_value: str
    actual: float
    expected: float
    actual_weight: float | None = None  # ratios: the slice's denominator on D
    expected_weight: float | None = None  # ratios: its expected denominator


@dataclass(frozen=True)
class SliceContribution:
    dimension_value: str
    share: float  # of the total's change; signed (negative: moved against the total)
    relative_change: float | None  # the slice's own change
    actual: float
    expected: float
    baseline_share: float  # the slice's usual share of the total (or of the denominator)


@dataclass(frozen=True)
class DrillDown:
    dimension: str
    score: float
    top: tuple[SliceContribution, ...]
    scores: Mapping[str, float]  # every dimension examined

    @property
    def concentrated(self) -> bool:
        return self.score >= CONCENTRATION_THRESHOLD

    @property
    def top_slice(self) -> str | None:
        return self.top[0].dimension_value if self.top else None

    def as_dict(self) -> dict:
        return {
            "dimension": self.dimension,
            "score": self.score,
            "concentrated": self.concentrated,
            "top": [asdict(s) for s in self.top],
            "scores": dict(self.scores),
        }


def contributions(total_change: float, slices: Sequence[SliceObservation], ratio: bool) -> list[SliceContribution]:
    """Each slice's share of `total_change` (total actual - total expected)."""
    if ratio:
        effects, baseline_shares = _ratio_effects(slices)
    else:
        expected_sum = sum(max(s.expected, 0.0) for s in slices)
        effects = [s.actual - s.expected for s in slices]
        baseline_shares = [max(s.expected, 0.0) / expected_sum if expected_sum else 0.0 for s in slices]
    return [
        SliceContribution(
            s.dimension_value,
            effect / total_change,
            relative_change(s.actual, s.expected),
            s.actual,
            s.expected,
            baseline,
        )
        for s, effect, baseline in zip(slices, effects, baseline_shares)
    ]


def _ratio_effects(slices: Sequence[SliceObservation]) -> tuple[list[float], list[float]]:
    actual_total = sum(s.actual_weight or 0.0 for s in slices)
    expected_total = sum(s.expected_weight or 0.0 for s in slices)
    weights = [(s.actual_weight or 0.0) / actual_total if actual_total else 0.0 for s in slices]
    expected_weights = [(s.expected_weight or 0.0) / expected_total if expected_total else 0.0 for s in slices]
    expected_ratio = sum(w * s.expected for w, s in zip(expected_weights, slices))
    effects = [
        w * (s.actual - s.expected) + (w - w0) * (s.expected - expected_ratio)
        for s, w, w0 in zip(slices, weights, expected_weights)
    ]
    return effects, expected_weights


def _listed(shares: Sequence[SliceContribution], total_change: float, top_n: int) -> tuple[SliceContribution, ...]:
    """The slices to name: moved with the total, at most `top_n`, shares of the gross movement in its direction.

    A slice's share of the net change can pass 100% when other slices moved
    the other way (three slices at 67 + 32 + 18%): the listed shares are
    divided by the sum of the positive ones when it is above 1, so they add
    up to at most 100%. A slice whose own change goes against the total's
    (a ratio's mix effect can give it a positive share) is never named."""
    direction = 1.0 if total_change > 0 else -1.0
    with_total = [
        s for s in shares if s.share > 0 and (s.relative_change is None or s.relative_change * direction >= 0)
    ]
    scale = max(1.0, sum(s.share for s in shares if s.share > 0))
    # ties in share: the slice further above its usual size first
    ranked = [replace(s, share=s.share / scale) for s in sorted(with_total, key=lambda s: (-s.share, s.baseline_share))]
    return tuple([s for s in ranked[:top_n] if s.share >= MIN_LISTED_SHARE] or ranked[:1])


def explain(
    total_actual: float,
    total_expected: float,
    slices_by_dimension: Mapping[str, Sequence[SliceObservation]],
    ratio: bool = False,
    top_n: int = TOP_SLICES,
) -> DrillDown | None:
    """The dimension whose slices explain the change best, with its top slices; None if nothing to explain."""
    total_change = total_actual - total_expected
    if total_change == 0:
        return None
    best: DrillDown | None = None
    scores: dict[str, float] = {}
    for dimension, slices in slices_by_dimension.items():
        if not slices:
            continue
        shares = contributions(total_change, slices, ratio)
        score = max(s.share - s.baseline_share for s in shares)
        scores[dimension] = score
        top = _listed(shares, total_change, top_n)
        if best is None or score > best.score:
            best = DrillDown(dimension, score, top, scores)
    if best is None:
        return None
    return DrillDown(best.dimension, best.score, best.top, dict(scores))
