"""Slack messages: Block Kit blocks plus the plain-text fallback, built from an Alert. Pure.

The same text goes to Slack (as the notification fallback), to alerts.jsonl
and to the run log.

Slack reads `&`, `<` and `>` as control characters in every text object
(mrkdwn and plain_text) and in the fallback text: `<!channel>` notifies a
whole channel, `<@U123>` a person. Everything an alert carries from data or
configuration (file names in error messages, slice values, labels, owners,
monitor names) enters a message through slack_safe(), which escapes them with
slack_escape(); links go through slack_url(). The builders below read only
that escaped view, so the only `<...>` in a message are the links they write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote, urlencode

from ops_pipeline.alerts.outbox import CHECK_FAILURE, LATE_SOURCE, REVIEW, RUN_FAILURE, UNSTORED, Alert, status_summary
from ops_pipeline.metrics.registry import format_number, load_registry

METRICS_ASSET = ("marts", "metrics_daily")
# Each monitor is an asset check of monitoring/evaluations, named after it (assets/monitoring.py).
EVALUATIONS_ASSET = ("monitoring", "evaluations")
SPARK_BARS = "▁▂▃▄▅▆▇█"
SEVERITY_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
HEADER_LIMIT = 150
SECTION_LIMIT = 2900  # Slack: 3000 characters per text object
# What a link's URL keeps as it is: the reserved and unreserved characters of RFC 3986 and `%`; the
# rest (`<`, `>`, `|`, spaces, quotes, controls, non-ASCII) is percent-encoded, so a URL cannot end the
# <url|text> syntax. `&` stays: it separates the query, and Slack clients open `&amp;` in a link
# target literally.
URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"


def slack_escape(text: object) -> str:
    """Text from data or configuration, made inert for Slack: `&`, `<` and `>` as the HTML entities
    Slack decodes for display (the only three it decodes)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str | None) -> str | None:
    """A link target that is safe inside <url|text>: http(s) only, percent-encoded where it could
    break the syntax; None for anything else (the message then has no link)."""
    if not url:
        return None
    url = quote(str(url).strip(), safe=URL_SAFE)
    return url if url.lower().startswith(("http://", "https://")) else None


def _escape_optional(text: object | None) -> str | None:
    return None if text is None else slack_escape(text)


def slack_safe(alert: Alert) -> Alert:
    """The alert as the message builders read it: every text from data or configuration escaped for
    Slack, the link made safe. The one place untrusted text enters a message."""
    drill = alert.drill_down
    if drill:
        drill = {
            **drill,
            "dimension": _escape_optional(drill.get("dimension")),
            "top": [
                {**item, "dimension_value": slack_escape(item["dimension_value"])} for item in drill.get("top") or []
            ],
        }
    return replace(
        alert,
        monitor=_escape_optional(alert.monitor),
        label=_escape_optional(alert.label),
        severity=slack_escape(alert.severity),
        owner=_escape_optional(alert.owner),
        dimension=_escape_optional(alert.dimension),
        dimension_value=_escape_optional(alert.dimension_value),
        likely_cause=_escape_optional(alert.likely_cause),
        cause_reasons=[slack_escape(reason) for reason in alert.cause_reasons],
        drill_down=drill,
        link=slack_url(alert.link),
    )


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside an entity slack_escape wrote."""
    if len(text) <= limit:
        return text
    return re.sub(r"&(?:a|am|amp|l|lt|g|gt)?$", "", text[:limit])


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
    alert = slack_safe(alert)
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
    alert = slack_safe(alert)
    icon = SEVERITY_ICON.get(alert.severity, "")
    header = f"{icon} {_what(alert)} {_direction(alert)} {format_change(alert.relative_change)} · {alert.date}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(header, HEADER_LIMIT), "emoji": True}},
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
                    "text": clip(
                        f"*{drill_down_title(alert)}*\n" + "\n".join(f"• {line}" for line in drill), SECTION_LIMIT
                    ),
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
                    "text": clip(
                        f"*Likely cause:* `{alert.likely_cause}`" + (f"\n{reasons}" if reasons else ""), SECTION_LIMIT
                    ),
                },
            }
        )
    blocks.append(_context(alert, f"Open monitor {alert.monitor} in Dagster"))
    return blocks


def _context(alert: Alert, link_text: str) -> dict:
    """The footer; `alert` is the escaped view (slack_safe) and `link_text` is built from it."""
    parts = [f"Monitor `{alert.monitor}`"] if alert.monitor else []
    if alert.owner:
        parts.append(f"Owner: {alert.owner}")
    if alert.link:
        parts.append(f"<{alert.link}|{link_text}>")
    text = clip(" · ".join(parts), SECTION_LIMIT) or "ops_pipeline"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def pipeline_text(alert: Alert) -> str:
    alert = slack_safe(alert)
    lines = [f"{SEVERITY_ICON.get(alert.severity, '')} [{alert.severity.upper()}] {alert.label}"]
    lines += alert.cause_reasons
    if alert.link:
        lines.append(f"Dagster: {alert.link}")
    return "\n".join(lines)


PIPELINE_LINK_TEXT = {
    RUN_FAILURE: "Open the run in Dagster",
    CHECK_FAILURE: "Open the check in Dagster",
    LATE_SOURCE: "Open the landing source in Dagster",
    REVIEW: "Open the review mart in Dagster",
}


def pipeline_blocks(alert: Alert) -> list[dict]:
    alert = slack_safe(alert)
    link_text = PIPELINE_LINK_TEXT.get(alert.kind, "Open the checks in Dagster")
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": True,
                "text": clip(f"{SEVERITY_ICON.get(alert.severity, '')} {alert.label}", HEADER_LIMIT),
            },
        },
    ]
    if alert.cause_reasons:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": clip("\n".join(f"• {reason}" for reason in alert.cause_reasons), SECTION_LIMIT),
                },
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
    """What `ops-pipeline run` prints about the alerts of the dates it built. With Slack on, what
    the outbox says of them (their status after delivery): sent, pending, failed."""
    new = [a for a in alerts if a.new]
    if slack_on:
        head = f"Alerts for the dates built: {len(alerts)} ({len(new)} new)"
        if alerts:
            head += f"; Slack: {status_summary(a.status for a in alerts)}"
    else:
        where = "the outbox table monitoring.alert_outbox" + (f" and {jsonl}" if jsonl else "")
        head = f"Alerts for the dates built: {len(alerts)} ({len(new)} new, delivered to {where})"
        if any(a.status == UNSTORED for a in alerts):
            head = f"Alerts for the dates built: {len(alerts)} ({len(new)} new; {status_summary([UNSTORED])})"
    lines = [head]
    for alert in alerts:
        first = alert.message.splitlines()[0] if alert.message else slack_escape(alert.label or alert.alert_id)
        safe = slack_safe(alert)
        drill = drill_down_lines(safe)
        state = "new" if alert.new else "announced before"
        lines.append(f"  {first} [{safe.likely_cause}; {state}; {alert.status}]")
        if drill:
            lines.append(f"      {drill_down_title(safe)}: {drill[0]}")
    return lines
