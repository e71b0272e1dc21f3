"""Plain-text reports printed by the CLI."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.alerts.message import run_report_lines
from ops_pipeline.alerts.outbox import Alert, jsonl_path, refreshed
from ops_pipeline.pipeline import RunOutcome, summarise_warehouse
from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import WarehouseBusy

OUTBOX_WAIT_SECONDS = 5.0
WARNING_LINES = 20


def run_report(settings: Settings, outcome: RunOutcome) -> str:
    lines = [
        f"Run {outcome.run_id}"
        + (f" over landing days {outcome.first_day} .. {outcome.last_day}" if outcome.first_day else "")
        + (": succeeded" if outcome.success else ": FAILED"),
    ]
    for failure in outcome.failures:
        lines.append(f"  failure: {failure}")
    if outcome.check_lines:
        lines += ["", "Data-quality checks that failed or warn:", *(f"  {line}" for line in outcome.check_lines)]
    if settings.warehouse.exists():
        summary = summarise_warehouse(settings.warehouse)
        lines += [
            "",
            "Sources (all landing days in the warehouse):",
            f"  {'source':<14}{'rows read':>12}{'loaded':>12}{'quarantined':>13}",
        ]
        for source, (read, loaded, quarantined) in summary.rows_by_source.items():
            lines.append(f"  {source:<14}{read:>12,}{loaded:>12,}{quarantined:>13,}")
        if summary.quarantine_reasons:
            lines += ["", "Quarantined rows by reason (details in raw.quarantine):"]
            lines += [
                f"  {source:<14}{count:>8,}  {kind.strip()}" for source, kind, count in summary.quarantine_reasons
            ]
        if summary.warnings:
            lines += ["", f"Warnings about the files loaded ({len(summary.warnings)}, in raw.ingestion_warnings):"]
            lines += [f"  {file}: {kind}: {message}" for _, file, kind, message in summary.warnings[:WARNING_LINES]]
            if len(summary.warnings) > WARNING_LINES:
                lines.append(f"  ... and {len(summary.warnings) - WARNING_LINES} more")
        lines += _headline_lines(summary.headlines)
        if summary.review:
            lines += ["", "Review (marts campaign_review, target_progress, experiment_results, churn_risk):"]
            lines += [f"  {line}" for line in summary.review]
        lines += ["", "Tables built:"]
        lines += [f"  {schema}.{table}: {count:,} rows" for schema, table, count in summary.tables]
    slack_on = SlackTarget.from_settings(settings) is not None
    alerts = alerts_as_stored(settings, outcome.alerts)
    lines += ["", *run_report_lines(alerts, slack_on, str(jsonl_path(settings.warehouse)))]
    lines += weekly_report_lines(outcome.weekly_report)
    lines += [
        "",
        f"Assets materialised in this run: {len(outcome.materialized)}",
        f"Warehouse: {settings.warehouse}",
        *([f"Run log: {outcome.log_file}"] if outcome.log_file else []),
        "Open the UI: make ui, then http://127.0.0.1:3000 (this run is listed under Runs).",
    ]
    return "\n".join(lines)


def weekly_report_lines(weekly) -> list[str]:
    """Where the report of the week the run completed is (or why it failed)."""
    if weekly is None:
        return []
    if not weekly.success:
        return ["", f"Weekly report {weekly.week}: FAILED: {weekly.error}"]
    return ["", f"Weekly report {weekly.week} (运营数据周报):", f"  HTML: {weekly.html}", f"  PDF:  {weekly.pdf}"]


def alerts_as_stored(settings: Settings, alerts: Sequence[Alert]) -> list[Alert]:
    """The run's alerts with their status as the outbox has it now, after every delivery of the
    run (a later announcement's delivery may have sent an earlier alert); as they are when the
    outbox cannot be read (locked, or a spooled announcement with no outbox yet)."""
    if not alerts or not settings.warehouse.exists():
        return list(alerts)
    try:
        return refreshed(settings.warehouse, alerts, wait_seconds=OUTBOX_WAIT_SECONDS)
    except (WarehouseBusy, duckdb.Error):
        return list(alerts)


def _headline_lines(headlines: dict) -> list[str]:
    if not headlines.get("kpi"):
        return []
    day, dau, paid_gmv, pay_rate, visit_to_pay = headlines["kpi"]
    lines = [
        "",
        f"Headline numbers of {day}:",
        f"  DAU {dau:,}   paid GMV ¥{paid_gmv or 0:,.2f}   pay rate {_pct(pay_rate)}   "
        f"visit-to-pay {_pct(visit_to_pay)}",
    ]
    if headlines.get("best_channel"):
        channel, roas = headlines["best_channel"]
        lines.append(f"  best channel by ROAS: {channel} ({roas:.2f})")
    if headlines.get("top_kol"):
        kol_id, kol_name, score, tier = headlines["top_kol"]
        lines.append(f"  top KOL: {kol_name or kol_id} ({kol_id}), score {score:.1f}, tier {tier}")
    return lines


def _pct(ratio) -> str:
    return "n/a" if ratio is None else f"{ratio:.2%}"
