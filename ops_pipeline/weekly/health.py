"""Section 8, 异常与数据质量: the week's alerts, failed checks and the quarantine of its files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import duckdb

from ops_pipeline.weekly.measures import (
    table_exists,
)
from ops_pipeline.weekly.weeks import Week


@dataclass
class AlertLine:
    date: date | None
    label: str
    slice: str
    change: float | None
    cause: str
    reason: str
    severity: str


@dataclass
class Health:
    alerts: list[AlertLine]
    failed_checks: list[AlertLine]
    quarantine: list[tuple[str, int, int, float | None]]  # source, rows read, quarantined, rate
    warnings: list[tuple[str, str, str]] = field(default_factory=list)  # source, kind, message


def health(conn: duckdb.DuckDBPyConnection, week: Week) -> Health:
    """The week's alerts (by the date they are about) and the failed blocking checks announced
    while it was built (from its first day to a week after its last), from the outbox; the
    quarantine of the files that landed in the week, from the ingestion log."""
    alerts, checks = [], []
    if table_exists(conn, "alert_outbox", "monitoring"):
        rows = conn.execute(
            """
            select kind, date, label, dimension, dimension_value, relative_change, likely_cause,
                cause_reasons, severity
            from monitoring.alert_outbox
            where (kind not in ('check_failure', 'weekly_report') and date between $start and $end)
               or (kind = 'check_failure' and cast(created_at as date) between $start and $end + 7)
            order by date nulls last, created_at, alert_id
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        for kind, day, label, dimension, value, rel, cause, reasons, severity in rows:
            reasons = json.loads(reasons) if isinstance(reasons, str) else reasons or []
            line = AlertLine(
                day,
                label or kind,
                f"{dimension}={value}" if dimension and dimension != "all" else "all",
                rel,
                cause or "",
                reasons[0] if reasons else "",
                severity or "",
            )
            (checks if kind == "check_failure" else alerts).append(line)
    quarantine = [
        (source, int(read), int(quarantined), quarantined / read if read else None)
        for source, read, quarantined in conn.execute(
            "select source, sum(rows_read), sum(rows_quarantined) from raw.ingestion_log "
            "where landing_date between ? and ? group by source order by source",
            [week.start, week.end],
        ).fetchall()
    ]
    warnings = []
    if table_exists(conn, "ingestion_warnings", "raw"):
        warnings = conn.execute(
            "select source, kind, message from raw.ingestion_warnings where landing_date between ? and ? "
            "order by landing_date, source, file",
            [week.start, week.end],
        ).fetchall()
    return Health(alerts, checks, quarantine, warnings)
