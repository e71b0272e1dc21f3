"""What the week says in words: the figures' formatting and the few sentences at the top of the
report and in its Slack summary (what changed, and what explains it). Pure: reads WeeklyData."""

from __future__ import annotations

from ops_pipeline.metrics.registry import format_number
from ops_pipeline.weekly.data import WeeklyData
from ops_pipeline.weekly.measures import Change

PERCENT, NUMBER = "percent", "number"


def value(number: float | None, style: str = NUMBER) -> str:
    return "–" if number is None else format_number(number, style)


def money(number: float | None) -> str:
    return "–" if number is None else f"¥{number:,.0f}"


def percent(number: float | None, digits: int = 1) -> str:
    return "–" if number is None else f"{number:.{digits}%}"


def delta(change: Change, style: str = NUMBER) -> str:
    """环比: a relative change for counts and sums, the difference in percentage points for rates;
    ±0.0 when it rounds to nothing."""
    if style == PERCENT:
        diff = change.difference
        if diff is None:
            return "–"
        return "±0.0 pp" if abs(diff) < 0.0005 else f"{diff * 100:+.1f} pp"
    rel = change.relative
    if rel is None:
        return "–"
    return "±0.0%" if abs(rel) < 0.0005 else f"{rel:+.1%}"


def direction(change: Change, good_direction: str = "up", style: str = NUMBER) -> str:
    """'good', 'bad' or 'flat' (CSS classes of the changes): flat when the change shows as ±0.0."""
    diff = change.difference
    if diff is None or delta(change, style).startswith("±"):
        return "flat"
    return "good" if (diff > 0) == (good_direction == "up") else "bad"


def highlights(data: WeeklyData) -> list[str]:
    """The sentences a director reads first."""
    lines = []
    figures = {f.metric: f for f in data.headline.figures}
    gmv, dau, rate = figures["paid_gmv"], figures["dau"], figures["pay_rate"]
    lines.append(
        f"支付GMV Paid GMV {money(gmv.change.current)} ({delta(gmv.change)} 环比), "
        f"average DAU {value(dau.change.current)} ({delta(dau.change)}), "
        f"pay rate {percent(rate.change.current, 2)} ({delta(rate.change, PERCENT)})."
    )
    funnel = data.funnel
    if funnel.leak is not None:
        lines.append(
            f"流失点 Biggest leak: {funnel.leak.label}, {value(funnel.leak.lost)} people lost "
            f"({percent(funnel.leak.conversion.current)} converted)."
        )
    if funnel.worst is not None:
        text = f"Largest conversion fall: {funnel.worst.label} {delta(funnel.worst.conversion, PERCENT)}"
        if funnel.driver is not None:
            dimension, slice_value, slice_change = funnel.driver
            text += f", driven by {dimension}={slice_value} ({delta(slice_change, PERCENT)})"
        lines.append(text + ".")
    acquisition = data.acquisition
    if acquisition.best is not None:
        text = f"Best ROAS: {acquisition.best.channel} {acquisition.best.roas.current:.2f}"
        if acquisition.worst is not None:
            text += f"; worst: {acquisition.worst.channel} {acquisition.worst.roas.current:.2f}"
        lines.append(text + ".")
    behind = [t for t in data.headline.targets if t.status == "behind"]
    if behind:
        lines.append(
            "Targets behind: "
            + "; ".join(f"{t.label} {percent(t.attainment, 0)} attained, pace {percent(t.pace, 0)}" for t in behind)
            + "."
        )
    alerts = data.health.alerts
    if alerts:
        first = alerts[0]
        lines.append(
            f"{len(alerts)} alert(s) this week, e.g. {first.label} on {first.date}"
            + (f" ({first.slice})" if first.slice != "all" else "")
            + (f", likely cause {first.cause}" if first.cause else "")
            + "."
        )
    else:
        lines.append("No metric alert this week.")
    if data.health.failed_checks:
        lines.append(f"{len(data.health.failed_checks)} failed data-quality check(s).")
    return lines
