"""Section 2, 转化漏斗 Funnel: step conversions, the leak, the largest fall and the slice behind it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ops_pipeline.weekly.measures import (
    Change,
    change,
    parts_change,
    registry,
    weekly_parts,
    weekly_values,
)
from ops_pipeline.weekly.weeks import Week

FUNNEL_STEPS = ["product_view", "add_to_cart", "order_submit", "pay_success"]


@dataclass
class FunnelStep:
    step: str
    label: str
    persons: Change  # persons reaching the step
    conversion: Change  # from the previous step

    @property
    def lost(self) -> float | None:
        """Persons of the previous step who did not get here this week."""
        if self.persons.current is None or self.conversion.current is None or not self.conversion.current:
            return None
        previous_persons = self.persons.current / self.conversion.current
        return previous_persons - self.persons.current


@dataclass
class Funnel:
    entrants: Change
    steps: list[FunnelStep]
    leak: FunnelStep | None  # the step losing the most people (流失点)
    worst: FunnelStep | None  # the step whose conversion fell most
    driver: tuple[str, str, Change] | None  # (dimension, value, conversion) of the slice behind `worst`


def funnel(conn: duckdb.DuckDBPyConnection, week: Week) -> Funnel:
    """Step conversions from the registry's funnel ratios; a step's persons are its ratio's numerator
    (the previous step's persons its denominator), summed over the week."""
    weeks = [week.shifted(-1), week]
    conversions = [f"funnel_{s}_conversion" for s in FUNNEL_STEPS]
    values = weekly_values(conn, conversions, weeks)
    parts = {metric: weekly_parts(conn, metric, weeks) for metric in conversions}
    steps = [
        FunnelStep(
            step,
            registry()[f"funnel_{step}_conversion"].display_name,
            parts_change(parts[f"funnel_{step}_conversion"], week, 0),
            change(values, f"funnel_{step}_conversion", week),
        )
        for step in FUNNEL_STEPS
    ]
    known = [s for s in steps if s.lost is not None]
    leak = max(known, key=lambda s: s.lost, default=None)
    falls = [s for s in steps if s.conversion.difference is not None and s.conversion.difference < 0]
    worst = min(falls, key=lambda s: s.conversion.difference, default=None)
    driver = _funnel_driver(conn, worst, weeks) if worst else None
    entrants = parts_change(parts[conversions[0]], week, 1)
    return Funnel(entrants, steps, leak, worst, driver)


def _funnel_driver(conn, step: FunnelStep, weeks: list[Week]) -> tuple[str, str, Change] | None:
    """The platform or channel whose own conversion fall, weighted by its persons at the previous
    step this week, lost the most conversions of the step."""
    metric = f"funnel_{step.step}_conversion"
    best = None
    for dimension in ("platform", "channel"):
        values = weekly_values(conn, [metric], weeks, dimension)
        parts = weekly_parts(conn, metric, weeks, dimension)
        for (week, value), (_, base) in sorted(parts.items()):
            if week != str(weeks[-1]):
                continue
            slice_change = change(values, metric, weeks[-1], value)
            if slice_change.difference is None or slice_change.difference >= 0:
                continue
            lost = -slice_change.difference * (base or 0)
            if best is None or lost > best[0]:
                best = (lost, dimension, value, slice_change)
    return best[1:] if best else None
