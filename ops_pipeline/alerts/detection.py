"""Detection: is the value of date D a swing? (docs/alerting.md, Detection). Pure functions.

The expected value of D is the median of the same weekday in the 4 weeks
before D (weekly seasonality; one odd week cannot move a median). The scale
is the MAD of the leave-one-out errors of that same predictor over the 28
days before D: for each day t of the window, t's value minus the median of
the other same-weekday values of the window. That is how wrong the
predictor usually is on this series, and one outlier day moves only its own
error. robust z = (value - expected) / (1.4826 * MAD).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

WEEKS = 4
WINDOW_DAYS = 7 * WEEKS
MIN_HISTORY_DAYS = 14
MAD_TO_SIGMA = 1.4826
# A series that never moves (MAD 0) still needs a deviation of this share of expected per z unit.
SCALE_FLOOR_SHARE = 0.005

ALERT, OK, INSUFFICIENT_HISTORY, NO_DATA, LOW_VOLUME = "alert", "ok", "insufficient_history", "no_data", "low_volume"


@dataclass(frozen=True)
class Baseline:
    expected: float | None
    scale: float | None
    history_days: int
    reason: str = ""
    basis: str = ""  # how the expected value was found, for people: "median of the last 4 Tuesdays"

    @property
    def sufficient(self) -> bool:
        return self.expected is not None


@dataclass(frozen=True)
class Rule:
    direction: str = "both"
    min_relative_change: float = 0.2
    sensitivity: float = 3.0
    min_volume: float = 0.0


@dataclass(frozen=True)
class Detection:
    value: float | None
    expected: float | None
    z: float | None
    relative_change: float | None  # None when expected is 0 and value is not
    volume: float | None
    history_days: int
    decision: str
    reason: str
    basis: str = ""  # the baseline's Baseline.basis

    @property
    def fired(self) -> bool:
        return self.decision == ALERT


def baseline(series: Mapping[date, float | None], day: date) -> Baseline:
    """Expected value and scale of `day` from the 28 days before it; `series` maps date -> value."""
    window = {}
    for back in range(1, WINDOW_DAYS + 1):
        value = series.get(day - timedelta(days=back))
        if value is not None:
            window[back] = float(value)
    same_weekday = [window[back] for back in range(7, WINDOW_DAYS + 1, 7) if back in window]
    if len(window) < MIN_HISTORY_DAYS or len(same_weekday) < 2:
        return Baseline(
            None,
            None,
            len(window),
            f"insufficient history: {len(window)} day(s) with a value in the {WINDOW_DAYS} days "
            f"before {day} and {len(same_weekday)} same-weekday value(s); need {MIN_HISTORY_DAYS} "
            "days and 2 same-weekday values",
        )
    expected = median(same_weekday)
    errors = []
    for back, value in window.items():
        others = [window[b] for b in range(back % 7 or 7, WINDOW_DAYS + 1, 7) if b != back and b in window]
        if others:
            errors.append(abs(value - median(others)))
    mad = median(errors) if errors else 0.0
    scale = max(MAD_TO_SIGMA * mad, SCALE_FLOOR_SHARE * abs(expected), 1e-9)
    return Baseline(expected, scale, len(window), basis=f"median of the last {len(same_weekday)} {day:%A}s")


def relative_change(value: float, expected: float) -> float | None:
    if expected == 0:
        return 0.0 if value == 0 else None
    return (value - expected) / abs(expected)


def detect(
    value: float | None, base: Baseline, rule: Rule, volume: float | None = None, expected_volume: float | None = None
) -> Detection:
    """Decide one (monitor, date, slice). `volume` defaults to the value (counts); for ratios the
    caller passes the denominator. The larger of actual and expected volume counts, so that a
    collapse to nearly nothing is not muted as 'low volume'."""
    if value is None:
        return Detection(
            None,
            base.expected,
            None,
            None,
            volume,
            base.history_days,
            NO_DATA,
            "no value on this date (a ratio whose denominator is 0, or no row)",
        )
    if not base.sufficient:
        return Detection(value, None, None, None, volume, base.history_days, INSUFFICIENT_HISTORY, base.reason)
    z = (value - base.expected) / base.scale
    change = relative_change(value, base.expected)
    if volume is None:  # a count: its own value is its volume
        volume, expected_volume = abs(value), abs(base.expected)
    watched_volume = max(v for v in (volume, expected_volume, 0.0) if v is not None)

    def decided(decision: str, reason: str) -> Detection:
        return Detection(
            value, base.expected, z, change, watched_volume, base.history_days, decision, reason, base.basis
        )

    if watched_volume < rule.min_volume:
        return decided(LOW_VOLUME, f"volume {watched_volume:g} below min_volume {rule.min_volume:g}")
    moved = "rise" if value > base.expected else "drop"
    if (rule.direction == "up" and value <= base.expected) or (rule.direction == "down" and value >= base.expected):
        return decided(OK, f"{moved}, but the monitor watches direction {rule.direction}")
    if abs(z) < rule.sensitivity:
        return decided(OK, f"|z| {abs(z):.2f} below sensitivity {rule.sensitivity:g}")
    if change is not None and abs(change) < rule.min_relative_change:
        return decided(OK, f"relative change {change:+.1%} within ±{rule.min_relative_change:.0%}")
    change_text = f"{change:+.1%}" if change is not None else "from 0"
    return decided(ALERT, f"{moved} {change_text} vs expected {base.expected:.4g}, z {z:+.1f}")
