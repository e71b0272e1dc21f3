"""A week's report as an outbox entry: one stable id per week, so however often the week is rebuilt
it is announced once. The outbox's delivery uploads the PDF with files_upload_v2 (bot token) or
posts the summary with where the report is (webhook); see alerts/delivery.py."""

from __future__ import annotations

from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.announcements import enqueue
from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.alerts.message import HEADER_LIMIT, SECTION_LIMIT, clip, slack_escape
from ops_pipeline.alerts.outbox import WEEKLY_REPORT, Alert
from ops_pipeline.settings import Settings
from ops_pipeline.weekly.build import WeeklyReport, build_week
from ops_pipeline.weekly.weeks import Week

TITLE = "运营数据周报 Weekly operations report"


def report_alert_id(week: Week) -> str:
    return outbox.alert_id(WEEKLY_REPORT, str(week))


def report_alert(report: WeeklyReport) -> Alert:
    """The announcement of a week's report: its summary lines, and where its files are."""
    week = report.week
    alert = Alert(
        alert_id=report_alert_id(week),
        kind=WEEKLY_REPORT,
        monitor=f"weekly_report:{week}",
        label=f"{TITLE} {week} ({week.start} – {week.end})",
        severity="info",
        date=week.end,
        cause_reasons=list(report.highlights),
        drill_down={"week": str(week), "pdf": str(report.pdf), "html": str(report.html)},
    )
    alert.message, alert.blocks = summary_text(alert), summary_blocks(alert)
    return alert


def summary_text(alert: Alert) -> str:
    lines = [slack_escape(alert.label), *(f"• {slack_escape(line)}" for line in alert.cause_reasons)]
    lines.append(f"Report: {slack_escape(alert.drill_down['pdf'])}")
    return "\n".join(lines)


def summary_blocks(alert: Alert) -> list[dict]:
    """Header, the highlights, and the files' place (section and context blocks only: Slack's file
    share message refuses some block types)."""
    files = alert.drill_down
    return [
        {"type": "header", "text": {"type": "plain_text", "emoji": True, "text": clip(alert.label, HEADER_LIMIT)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": clip("\n".join(f"• {slack_escape(line)}" for line in alert.cause_reasons), SECTION_LIMIT),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": clip(
                        f"PDF: `{slack_escape(files['pdf'])}` · HTML: `{slack_escape(files['html'])}`", SECTION_LIMIT
                    ),
                }
            ],
        },
    ]


def announce(settings: Settings, report: WeeklyReport, target: SlackTarget | None = None) -> Alert:
    """Put the week's announcement in the outbox (once per week) and deliver what is pending; the
    target defaults to the one the settings name."""
    target = target if target is not None else SlackTarget.from_settings(settings)
    [stored] = enqueue(settings.warehouse, [report_alert(report)], target)
    return stored


def publish_week(settings: Settings, week: Week, target: SlackTarget | None = None) -> tuple[WeeklyReport, Alert]:
    """Build the week's report and announce it (once per week): what the CLI, the Dagster asset and
    the demo all do."""
    report = build_week(settings, week)
    return report, announce(settings, report, target)
