"""The marts -> the weekly operations report (运营数据周报) of one ISO week: HTML and PDF under
<reports>/weekly/, announced to Slack once per week (docs/weekly_report.md)."""

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    WeeklyPartitionsDefinition,
    asset,
)
from dagster_duckdb import DuckDBResource

from ops_pipeline.resources import Alerting
from ops_pipeline.settings import Settings
from ops_pipeline.weekly.deliver import publish_week
from ops_pipeline.weekly.weeks import Week

WEEKLY_REPORT_KEY = AssetKey(["reports", "weekly_report"])


def weekly_partitions(settings: Settings, first_day: date) -> WeeklyPartitionsDefinition:
    """One partition per ISO week (Monday to Sunday in the reporting time zone), keyed by its Monday,
    from the first whole week of the landing days; a week's partition exists once it has ended."""
    monday = first_day + timedelta(days=(7 - first_day.weekday()) % 7)
    return WeeklyPartitionsDefinition(start_date=monday.isoformat(), timezone=settings.timezone, day_offset=1)


def build_weekly_report_asset(
    settings: Settings, partitions_def: WeeklyPartitionsDefinition, mart_keys: list[AssetKey]
) -> AssetsDefinition:
    @asset(
        key=WEEKLY_REPORT_KEY,
        deps=mart_keys,
        partitions_def=partitions_def,
        group_name="reports",
        kinds={"python", "html", "pdf"},
        description=(
            "运营数据周报: the weekly operations report of one ISO week (headline, funnel, acquisition, "
            "retention, content, users, campaigns and experiments, alerts and data health), read from the "
            "marts and written as one self-contained HTML file and a PDF to <reports>/weekly/<YYYY-Www> "
            "(OPS_REPORTS_DIR, default reports beside the warehouse); announced to Slack once per week "
            "through the outbox (the PDF uploaded with a bot token)."
        ),
    )
    def weekly_report(context: AssetExecutionContext, duckdb: DuckDBResource, alerting: Alerting) -> MaterializeResult:
        week = Week.of(context.partition_time_window.start.date())
        run_settings = replace(settings, warehouse=Path(duckdb.database))
        report, announcement = publish_week(run_settings, week, alerting.slack_target())
        context.log.info(f"weekly report {week}: {report.pdf} ({report.seconds:.1f} s)")
        return MaterializeResult(
            metadata={
                "week": str(week),
                "html": MetadataValue.path(str(report.html)),
                "pdf": MetadataValue.path(str(report.pdf)),
                "pdf_bytes": report.pdf.stat().st_size,
                "seconds": round(report.seconds, 1),
                "announcement": announcement.status + ("" if announcement.new else " (announced before)"),
                "summary": MetadataValue.md("\n".join(f"* {line}" for line in report.highlights)),
            }
        )

    return weekly_report
