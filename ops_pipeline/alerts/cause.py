"""Likely cause of a swing: the business, the tracking (埋点) or the pipeline (docs/alerting.md). Pure.

The caller gathers the evidence of date D from the warehouse (evidence.py)
and the Dagster instance; this module only judges it. The pipeline is
judged first because a missing file also looks like collapsed tracking; then
the tracking; the business is what remains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TRACKING, PIPELINE, BUSINESS = "tracking", "pipeline", "business"

# Tracked pay_success over backend paid orders moving this much (total) while the backend holds.
COMPLETENESS_SWING = 0.2
# ... or this much on one platform (small slices are noisier, so the bar is higher).
SLICE_COMPLETENESS_SWING = 0.5
BACKEND_STEADY = 0.2
EVENT_COLLAPSE = -0.9
# The quarantine rate "jumps" when it is at least this share of rows and this multiple of its usual rate.
QUARANTINE_MIN_RATE = 0.02
QUARANTINE_JUMP_FACTOR = 3.0


@dataclass(frozen=True)
class Evidence:
    # relative changes vs expected on D, keyed by slice: 'all' or a platform
    completeness_change: Mapping[str, float] = field(default_factory=dict)
    paid_orders_change: Mapping[str, float] = field(default_factory=dict)
    # relative change of event volume, keyed 'platform ios', 'app_version ios 5.3.1', ...
    event_volume_change: Mapping[str, float] = field(default_factory=dict)
    quarantine_rate: float | None = None
    quarantine_rate_expected: float | None = None
    missing_sources: Sequence[str] = ()  # "orders: no file for 2026-02-16"
    failed_checks: Sequence[str] = ()  # "marts/metrics_daily: not_null_metrics_daily_date"


@dataclass(frozen=True)
class Cause:
    kind: str
    reasons: tuple[str, ...] = ()

    def summary(self) -> str:
        return self.kind + (f": {'; '.join(self.reasons)}" if self.reasons else "")


def likely_cause(evidence: Evidence) -> Cause:
    pipeline = _pipeline_reasons(evidence)
    if pipeline:
        return Cause(PIPELINE, tuple(pipeline))
    tracking = _tracking_reasons(evidence)
    if tracking:
        return Cause(TRACKING, tuple(tracking))
    return Cause(BUSINESS, ("backend and tracking agree, every source file arrived and the checks passed",))


def _pipeline_reasons(evidence: Evidence) -> list[str]:
    reasons = [f"source partition missing or late: {m}" for m in evidence.missing_sources]
    reasons += [f"blocking data-quality check failed: {c}" for c in evidence.failed_checks]
    return reasons


def _tracking_reasons(evidence: Evidence) -> list[str]:
    reasons = []
    for slice_name, change in sorted(evidence.completeness_change.items(), key=lambda kv: kv[1]):
        backend = evidence.paid_orders_change.get(slice_name)
        threshold = COMPLETENESS_SWING if slice_name == "all" else SLICE_COMPLETENESS_SWING
        if abs(change) >= threshold and backend is not None and abs(backend) < BACKEND_STEADY:
            where = "" if slice_name == "all" else f" on {slice_name}"
            reasons.append(
                f"tracked pay_success per backend paid order{where} {change:+.0%} "
                f"while backend paid orders {backend:+.0%}"
            )
    for key, change in sorted(evidence.event_volume_change.items(), key=lambda kv: kv[1]):
        if change <= EVENT_COLLAPSE:
            reasons.append(f"event volume of {key} collapsed ({change:+.0%})")
    rate, usual = evidence.quarantine_rate, evidence.quarantine_rate_expected
    if rate is not None and rate >= QUARANTINE_MIN_RATE and rate >= QUARANTINE_JUMP_FACTOR * (usual or 0.0):
        reasons.append(f"quarantine rate jumped to {rate:.1%} (usually {usual or 0.0:.1%})")
    return reasons
