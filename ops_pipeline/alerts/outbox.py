"""The outbox: every evaluation and every alert, stored before anything is sent.

Tables in schema `monitoring` of the warehouse:

* `evaluations`: one row per (monitor, date, slice) evaluated, fired or not;
  re-evaluating a date replaces its rows.
* `alert_outbox`: one row per alert, keyed by a deterministic alert_id
  (monitor, date, slice for swings; the run for run failures; the run and
  check for failed checks). An alert that is already there is never added
  again, whatever re-runs, restarts or retries happen; delivery moves its
  status pending -> sending -> sent (or back to pending with attempts + 1).
  Without Slack the status is `local`: the alert went to the local JSON-lines
  file and the log only.

Every new alert is also appended to `<warehouse dir>/alerts.jsonl`. When the
warehouse is locked by a writer, an announcement that cannot wait (a run
failure) is appended to `<warehouse dir>/alerts_spool.jsonl`, and moved into
the outbox by the next delivery (and only then written to alerts.jsonl).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ops_pipeline.warehouse import open_warehouse

SCHEMA = "monitoring"
PENDING, SENDING, SENT, LOCAL, FAILED = "pending", "sending", "sent", "local", "failed"
# Never in the table: an announcement the outbox could not keep (its disk is full), only logged.
UNSTORED = "unstored"
METRIC, RUN_FAILURE, CHECK_FAILURE = "metric", "run_failure", "check_failure"
LATE_SOURCE = "late_source"  # a source that did not land by its deadline (alerts/freshness.py)
REVIEW = "review"  # a target behind, an experiment's sample-ratio mismatch, a campaign's dip (alerts/review.py)
WEEKLY_REPORT = "weekly_report"  # a week's report, once per week (weekly/deliver.py); its PDF is uploaded


def status_summary(statuses: Iterable[str]) -> str:
    """What became of these alerts, by status: 'sent 2, pending 1 (retried on the next tick), failed 1'.
    `sending` (claimed by a deliverer right now) counts as pending: it is not sent yet."""
    counts = Counter(statuses)
    pending = counts[PENDING] + counts[SENDING]
    parts = [f"sent {counts[SENT]}", f"pending {pending}" + (" (retried on the next tick)" if pending else "")]
    if counts[FAILED]:
        parts.append(f"failed {counts[FAILED]} (not retried)")
    if counts[LOCAL]:
        parts.append(f"local {counts[LOCAL]} (stored while Slack was off)")
    if counts[UNSTORED]:
        parts.append(f"not stored {counts[UNSTORED]} (the warehouse's disk is full; only in the log)")
    return ", ".join(parts)


EVALUATIONS_DDL = f"""
create table if not exists {SCHEMA}.evaluations (
    monitor varchar not null,
    metric varchar not null,
    date date not null,
    dimension varchar not null,
    dimension_value varchar not null,
    value double,
    expected double,
    z double,
    relative_change double,
    volume double,
    history_days integer,
    decision varchar not null,
    reason varchar,
    evaluated_at timestamptz not null
)"""

OUTBOX_DDL = f"""
create table if not exists {SCHEMA}.alert_outbox (
    alert_id varchar primary key,
    kind varchar not null,
    monitor varchar,
    metric varchar,
    label varchar,
    severity varchar,
    owner varchar,
    date date,
    dimension varchar,
    dimension_value varchar,
    value double,
    expected double,
    relative_change double,
    z double,
    likely_cause varchar,
    cause_reasons json,
    drill_down json,
    sparkline json,
    link varchar,
    message varchar,
    blocks json,
    status varchar not null,
    attempts integer not null default 0,
    last_error varchar,
    next_attempt_at timestamptz,
    created_at timestamptz not null,
    sent_at timestamptz
)"""


def alert_id(*parts: object) -> str:
    """Deterministic id: the same (monitor, date, slice) - or run, or check - always gives the same id."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:20]


@dataclass
class Alert:
    alert_id: str
    kind: str
    monitor: str | None = None
    metric: str | None = None
    label: str | None = None
    severity: str = "warning"
    owner: str | None = None
    date: date | None = None
    dimension: str | None = None
    dimension_value: str | None = None
    value: float | None = None
    expected: float | None = None
    relative_change: float | None = None
    z: float | None = None
    likely_cause: str | None = None
    cause_reasons: list[str] = field(default_factory=list)
    drill_down: dict | None = None
    sparkline: list[float | None] = field(default_factory=list)
    link: str | None = None
    message: str = ""
    blocks: list[dict] = field(default_factory=list)
    status: str = PENDING
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    # Not stored: whether this call added the alert to the outbox (False: announced before).
    new: bool = False

    def as_record(self) -> dict:
        record = asdict(self)
        record.pop("new")
        return record

    def as_json(self) -> str:
        return json.dumps(self.as_record(), default=_json_default, ensure_ascii=False, allow_nan=False)


_STORED = [f.name for f in fields(Alert) if f.name != "new"]
_JSON_COLUMNS = {"cause_reasons", "drill_down", "sparkline", "blocks"}


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value):
    """JSON has no NaN or infinity; DuckDB doubles would take them, JSON columns would not."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(EVALUATIONS_DDL)
    conn.execute(OUTBOX_DDL)


def now_utc() -> datetime:
    return datetime.now(UTC)


def jsonl_path(warehouse_path: str | Path) -> Path:
    return Path(warehouse_path).parent / "alerts.jsonl"


def spool_path(warehouse_path: str | Path) -> Path:
    return Path(warehouse_path).parent / "alerts_spool.jsonl"


def save_evaluations(conn: duckdb.DuckDBPyConnection, rows: Sequence[dict]) -> None:
    """Replace the evaluations of the (monitor, date) pairs in `rows`."""
    if not rows:
        return
    import pandas as pd

    frame = pd.DataFrame(
        list(rows),
        columns=[
            "monitor",
            "metric",
            "date",
            "dimension",
            "dimension_value",
            "value",
            "expected",
            "z",
            "relative_change",
            "volume",
            "history_days",
            "decision",
            "reason",
            "evaluated_at",
        ],
    )
    conn.register("new_evaluations", frame)
    try:
        conn.execute(f"""
            delete from {SCHEMA}.evaluations
            where (monitor, date) in (select distinct monitor, cast(date as date) from new_evaluations)""")
        conn.execute(f"""
            insert into {SCHEMA}.evaluations
            select monitor, metric, cast(date as date), dimension, dimension_value, value, expected, z,
                   relative_change, volume, cast(history_days as integer), decision, reason,
                   cast(evaluated_at as timestamptz)
            from new_evaluations""")
    finally:
        conn.unregister("new_evaluations")


def existing(conn: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, Alert]:
    ids = list(ids)
    if not ids:
        return {}
    rows = conn.execute(
        f"select {', '.join(_STORED)} from {SCHEMA}.alert_outbox where alert_id in (select unnest(?))", [ids]
    ).fetchall()
    return {row[0]: _alert_from_row(row) for row in rows}


def add_alerts(conn: duckdb.DuckDBPyConnection, alerts: Sequence[Alert], now: datetime | None = None) -> list[Alert]:
    """Add the alerts not yet in the outbox; return every alert as stored, `new` telling which ones
    this call added."""
    now = now or now_utc()
    stored = existing(conn, [a.alert_id for a in alerts])
    result = []
    for alert in alerts:
        if alert.alert_id in stored:
            result.append(replace(stored[alert.alert_id], new=False))
            continue
        alert = replace(alert, created_at=alert.created_at or now, new=True)
        conn.execute(
            f"insert into {SCHEMA}.alert_outbox ({', '.join(_STORED)}) values ({', '.join('?' for _ in _STORED)}) "
            "on conflict (alert_id) do nothing",
            [_column_value(name, getattr(alert, name)) for name in _STORED],
        )
        stored[alert.alert_id] = alert
        result.append(alert)
    return result


def append_jsonl(warehouse_path: str | Path, added: Sequence[Alert]) -> None:
    """Append newly added alerts to alerts.jsonl (call after the outbox insert is committed)."""
    if not added:
        return
    path = jsonl_path(warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as sink:
        for alert in added:
            sink.write(alert.as_json() + "\n")


def _column_value(name: str, value):
    if name in _JSON_COLUMNS:
        return json.dumps(_finite(value), default=_json_default, ensure_ascii=False, allow_nan=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _alert_from_row(row: Sequence) -> Alert:
    values = dict(zip(_STORED, row))
    for name in _JSON_COLUMNS:
        if isinstance(values[name], str):
            values[name] = json.loads(values[name])
    values["cause_reasons"] = values["cause_reasons"] or []
    values["sparkline"] = values["sparkline"] or []
    values["blocks"] = values["blocks"] or []
    return Alert(**values)


def refreshed(warehouse_path: str | Path, stored: Sequence[Alert], wait_seconds: float = 10.0) -> list[Alert]:
    """The same alerts with their status after delivery (keeping `new`)."""
    with open_warehouse(warehouse_path, read_only=True, wait_seconds=wait_seconds) as conn:
        latest = existing(conn, [a.alert_id for a in stored])
    return [replace(latest[a.alert_id], new=a.new) if a.alert_id in latest else a for a in stored]


def alerts(conn: duckdb.DuckDBPyConnection, where: str = "true", params: Sequence = ()) -> list[Alert]:
    rows = conn.execute(
        f"select {', '.join(_STORED)} from {SCHEMA}.alert_outbox where {where} order by created_at, alert_id",
        list(params),
    ).fetchall()
    return [_alert_from_row(row) for row in rows]


def spool(alert: Alert, warehouse_path: str | Path) -> None:
    """Keep an announcement for the next delivery when the warehouse is locked right now."""
    path = spool_path(warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as sink:
        sink.write(alert.as_json() + "\n")


def absorb_spool(conn: duckdb.DuckDBPyConnection, warehouse_path: str | Path) -> list[Alert]:
    """Move spooled announcements into the outbox. Idempotent (known alert_ids are skipped), so the
    spool file is kept rather than raced with a writer appending to it; it only grows on lock clashes."""
    path = spool_path(warehouse_path)
    if not path.exists():
        return []
    spooled = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            record.pop("new", None)
            record["date"] = date.fromisoformat(record["date"]) if record.get("date") else None
            for name in ("next_attempt_at", "created_at", "sent_at"):
                record[name] = datetime.fromisoformat(record[name]) if record.get(name) else None
            spooled.append(Alert(**record))
    return [a for a in add_alerts(conn, spooled) if a.new]
