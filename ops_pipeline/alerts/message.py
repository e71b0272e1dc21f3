"""Slack messages: Block Kit blocks plus the plain-text fallback, built from an Alert. Pure.

The same text goes to Slack (as the notification fallback), to alerts.jsonl
and to the run log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from ops_pipeline.alerts.outbox import CHECK_FAILURE, LATE_SOURCE, RUN_FAILURE, Alert
from ops_pipeline.metrics.registry import format_number, load_registry

METRICS_ASSET = ("marts", "metrics_daily")
# Each monitor is an asset check of monitoring/evaluations, named after it (assets/monitoring.py).
EVALUATIONS_ASSET = ("monitoring", "evaluations")
SPARK_BARS = "▁▂▃▄▅▆▇█"
SEVERITY_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
HEADER_LIMIT = 150


def asset_url(base: str, asset_path: Sequence[str] = METRICS_ASSET, view: str | None = None) -> str:
    url = f"{base.rstrip('/')}/assets/" + "/".join(quote(part) for part in asset_path)
    return url + (f"?view={view}" if view else "")


def check_url(base: str, asset_path: Sequence[str], check_name: str) -> str:
    """The page of one asset check in the Dagster UI: its latest result and its history (the UI
    builds the same path, assetDetailsPathForAssetCheck in dagster-webserver's bundle)."""
    return asset_url(base, asset_path) + "?" + urlencode({"view": "checks", "checkDetail": check_name})


def monitor_check_name(monitor: str) -> str:
    """The asset check of a monitor: its name, in the letters Dagster allows in a name."""
    return re.sub(r"[^A-Za-z0-9_]", "_", monitor)


def monitor_url(base: str, monitor: str) -> str:
    """The monitor's own page in the Dagster UI: its check on monitoring/evaluations."""
    return check_url(base, EVALUATIONS_ASSET, monitor_check_name(monitor))


def run_url(base: str, run_id: str) -> str:
    return f"{base.rstrip('/')}/runs/{run_id}"


def format_value(metric: str | None, value: float | None) -> str:
    """A metric's value as the registry says people read it (a metric it does not know: a number)."""
    known = load_registry().get(metric or "")
    return known.format_value(value) if known else format_number(value)


def format_change(change: float | None) -> str:
    return "new (expected 0)" if change is None else f"{change:+.1%}"


def sparkline(values: Sequence[float | None]) -> str:
    numbers = [v for v in values if v is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    span = high - low
    return "".join(
        " " if v is None else SPARK_BARS[0 if span == 0 else round((v - low) / span * (len(SPARK_BARS) - 1))]
        for v in values
    )


def _what(alert: Alert) -> str:
    label = alert.label or alert.monitor or alert.metric or "metric"
    if alert.dimension and alert.dimension != "all":
        label += f" [{alert.dimension}={alert.dimension_value}]"
    return label


def _direction(alert: Alert) -> str:
    return "rise" if (alert.value or 0) >= (alert.expected or 0) else "drop"


def drill_down_lines(alert: Alert) -> list[str]:
    drill = alert.drill_down
    if not drill or not drill.get("top"):
        return []
    word = _direction(alert)
    lines = []
    for item in drill["top"]:
        own = item.get("relative_change")
        own_text = "new on its own" if own is None else f"{own:+.0%} on its own"
        lines.append(f"{item['dimension_value']}: {item['share']:.0%} of the {word}, {own_text}")
    return lines


def drill_down_title(alert: Alert) -> str:
    drill = alert.drill_down or {}
    if drill.get("concentrated", True):
        return f"Driven by {drill.get('dimension')}"
    return f"Spread across {drill.get('dimension')} (no slice stands out)"


def metric_text(alert: Alert) -> str:
    icon = SEVERITY_ICON.get(alert.severity, "")
    lines = [
        f"{icon} [{alert.severity.upper()}] {_what(alert)}: {_direction(alert)} {format_change(alert.relative_change)}"
        f" on {alert.date}",
        f"Actual {format_value(alert.metric, alert.value)} vs expected {format_value(alert.metric, alert.expected)}"
        + (f" (robust z {alert.z:+.1f})" if alert.z is not None else ""),
    ]
    if alert.sparkline:
        lines.append(f"Last 14 days: {sparkline(alert.sparkline)}")
    drill = drill_down_lines(alert)
    if drill:
        lines.append(f"{drill_down_title(alert)}: " + "; ".join(drill))
    if alert.likely_cause:
        lines.append(
            f"Likely cause: {alert.likely_cause}"
            + (f" ({'; '.join(alert.cause_reasons)})" if alert.cause_reasons else "")
        )
    footer = [f"Monitor: {alert.monitor}"] + ([f"Owner: {alert.owner}"] if alert.owner else [])
    if alert.link:
        footer.append(f"Dagster: {alert.link}")
    lines.append(" · ".join(footer))
    return "\n".join(lines)


def metric_blocks(alert: Alert) -> list[dict]:
    icon = SEVERITY_ICON.get(alert.severity, "")
    header = f"{icon} {_what(alert)} {_direction(alert)} {format_change(alert.relative_change)} · {alert.date}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:HEADER_LIMIT], "emoji": True}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Actual*\n{format_value(alert.metric, alert.value)}"},
                {"type": "mrkdwn", "text": f"*Expected*\n{format_value(alert.metric, alert.expected)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Change*\n{format_change(alert.relative_change)}"
                    + (f" (z {alert.z:+.1f})" if alert.z is not None else ""),
                },
                {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
            ],
        },
    ]
    if alert.sparkline:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Last 14 days*  `{sparkline(alert.sparkline)}`"}}
        )
    drill = drill_down_lines(alert)
    if drill:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{drill_down_title(alert)}*\n" + "\n".join(f"• {line}" for line in drill),
                },
            }
        )
    if alert.likely_cause:
        reasons = "\n".join(f"• {reason}" for reason in alert.cause_reasons)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Likely cause:* `{alert.likely_cause}`" + (f"\n{reasons}" if reasons else ""),
                },
            }
        )
    blocks.append(_context(alert, f"Open monitor {alert.monitor} in Dagster"))
    return blocks


def _context(alert: Alert, link_text: str) -> dict:
    parts = [f"Monitor `{alert.monitor}`"] if alert.monitor else []
    if alert.owner:
        parts.append(f"Owner: {alert.owner}")
    if alert.link:
        parts.append(f"<{alert.link}|{link_text}>")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts) or "ops_pipeline"}]}


def pipeline_text(alert: Alert) -> str:
    lines = [f"{SEVERITY_ICON.get(alert.severity, '')} [{alert.severity.upper()}] {alert.label}"]
    lines += alert.cause_reasons
    if alert.link:
        lines.append(f"Dagster: {alert.link}")
    return "\n".join(lines)


PIPELINE_LINK_TEXT = {
    RUN_FAILURE: "Open the run in Dagster",
    CHECK_FAILURE: "Open the check in Dagster",
    LATE_SOURCE: "Open the landing source in Dagster",
}


def pipeline_blocks(alert: Alert) -> list[dict]:
    link_text = PIPELINE_LINK_TEXT.get(alert.kind, "Open the checks in Dagster")
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": True,
                "text": f"{SEVERITY_ICON.get(alert.severity, '')} {alert.label}"[:HEADER_LIMIT],
            },
        },
    ]
    if alert.cause_reasons:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "\n".join(f"• {reason}" for reason in alert.cause_reasons)[:2900]},
            }
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Likely cause:* `pipeline`"}})
    blocks.append(_context(alert, link_text))
    return blocks


def render(alert: Alert) -> Alert:
    """The alert with its message and blocks filled in."""
    if alert.kind in PIPELINE_LINK_TEXT:
        alert.message, alert.blocks = pipeline_text(alert), pipeline_blocks(alert)
    else:
        alert.message, alert.blocks = metric_text(alert), metric_blocks(alert)
    return alert


def run_report_lines(alerts: Sequence[Alert], slack_on: bool, jsonl: str | None = None) -> list[str]:
    """What `ops-pipeline run` prints about the alerts of the dates it built."""
    new = [a for a in alerts if a.new]
    where = "Slack" if slack_on else "the outbox table monitoring.alert_outbox" + (f" and {jsonl}" if jsonl else "")
    lines = [f"Alerts for the dates built: {len(alerts)} ({len(new)} new, delivered to {where})"]
    for alert in alerts:
        first = alert.message.splitlines()[0] if alert.message else alert.label or alert.alert_id
        drill = drill_down_lines(alert)
        state = "new" if alert.new else "announced before"
        lines.append(f"  {first} [{alert.likely_cause}; {state}; {alert.status}]")
        if drill:
            lines.append(f"      {drill_down_title(alert)}: {drill[0]}")
    return lines
