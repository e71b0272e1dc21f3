"""Check results as Dagster metadata, and back as lines for the CLI and alerts.

The Dagster checks store what failed (one line per failing row: what, where,
observed against expected) in their metadata; failed_check_lines() reads it
back from the run's events, so the CLI prints exactly what the UI shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetCheckSeverity, DagsterEventType, MetadataValue

from ops_pipeline.quality.results import CheckResult

MAX_LINES_STORED = 50
MAX_LINES_PRINTED = 10


def check_metadata(result: CheckResult) -> dict:
    """Metadata of one AssetCheckResult: observed values, failing examples, counts."""
    rows = "\n".join(
        f"| {e.expectation} | {e.column} | {'passed' if e.success else 'FAILED'} | {_cell(e.observed)} "
        f"| {_cell(e.expected)} | {'' if e.unexpected_count is None else e.unexpected_count} |"
        for e in result.expectations
    )
    examples = [{"expectation": e.expectation, **row} for e in result.expectations for row in e.examples]
    metadata = {
        "summary": MetadataValue.text(result.summary),
        "table": MetadataValue.text(result.table),
        "dates_checked": MetadataValue.text(result.dates_checked),
        "partition_range": MetadataValue.text(result.window.label),  # the run's landing days
        "blocking": MetadataValue.bool(result.blocking),
        "rows_checked": MetadataValue.int(result.rows_checked),
        "failed_expectations": MetadataValue.int(sum(not e.success for e in result.expectations)),
        "unexpected_rows": MetadataValue.int(sum(e.unexpected_count or 0 for e in result.expectations)),
        "failures": MetadataValue.json(result.lines[:MAX_LINES_STORED]),
        "expectations": MetadataValue.md(
            "| expectation | column | result | observed | expected | unexpected rows |\n"
            "|---|---|---|---|---|---|\n" + rows
        ),
        "seconds": MetadataValue.float(result.seconds),
    }
    if examples:
        metadata["failing_examples"] = MetadataValue.json(examples[:20])
        metadata["failed_slices"] = MetadataValue.json(result.failed_slices)
    if result.docs:
        metadata["data_docs"] = MetadataValue.url(result.docs)
    return metadata


def failed_check_lines(instance, run_id: str) -> list[str]:
    """Every failed or warning check of a run: severity, asset, check, partitions, what failed."""
    records = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    return check_lines(record.dagster_event.event_specific_data for record in records)


def failed_check_lines_from_events(events: Iterable) -> list[str]:
    """The same from DagsterEvents, e.g. ExecuteInProcessResult.all_events."""
    return check_lines(
        event.event_specific_data for event in events if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    )


def check_lines(evaluations: Iterable) -> list[str]:
    lines: list[str] = []
    for evaluation in evaluations:
        # a monitor's check (assets/monitoring.py: its metadata names the monitor) is reported as its alert
        if evaluation.passed or "monitor" in (evaluation.metadata or {}):
            continue
        label = _label(evaluation)
        asset = evaluation.asset_key.to_user_string()
        metadata = evaluation.metadata or {}
        window = _value(metadata.get("partition_range"))
        where = f" [{window}]" if window else (f" [{evaluation.partition}]" if evaluation.partition else "")
        failures = _value(metadata.get("failures")) or [evaluation.description or "failed"]
        prefix = f"{label} {asset} {evaluation.check_name}{where}: "
        lines += [prefix + str(line) for line in failures[:MAX_LINES_PRINTED]]
        if len(failures) > MAX_LINES_PRINTED:
            lines.append(f"{prefix}... and {len(failures) - MAX_LINES_PRINTED} more (Dagster UI, check metadata)")
    return lines


def blocking_check_failed(instance, run_id: str) -> bool:
    records = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    return any(_label(r.dagster_event.event_specific_data) == "BLOCKING" for r in records)


def _label(evaluation) -> str:
    if evaluation.passed:
        return "PASSED"
    if evaluation.severity == AssetCheckSeverity.ERROR:
        return "BLOCKING" if getattr(evaluation, "blocking", False) else "FAILED"
    return "WARNING"


def _value(metadata_value):
    return getattr(metadata_value, "value", metadata_value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
