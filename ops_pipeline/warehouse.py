"""The DuckDB warehouse: the raw layer's tables, and the connections every writer and reader opens.

DuckDB allows one writer or many readers, never both at once. Code outside
Dagster resources (alerting, the CLI's summary) never keeps a connection open:
open_warehouse is one short unit of work, and a warehouse locked by another
process (a pipeline run writing) raises WarehouseBusy, which the sensors turn
into a quiet skip of the tick.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ops_pipeline.contract import RAW_META_COLUMNS, SOURCES
from ops_pipeline.settings import DUCKDB_MEMORY_LIMIT

QUARANTINE_COLUMNS = (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("row_number", "BIGINT"),
    ("reason", "VARCHAR"),
    ("record", "VARCHAR"),
    ("landing_date", "DATE"),
    ("ingested_at", "TIMESTAMPTZ"),
)
INGESTION_LOG_COLUMNS = (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("landing_date", "DATE"),
    ("format", "VARCHAR"),
    ("sha256", "VARCHAR"),
    ("bytes", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("ingested_at", "TIMESTAMPTZ"),
)


def _ddl(table: str, columns) -> str:
    body = ",\n    ".join(f'"{name}" {type_}' for name, type_ in columns)
    return f"create table if not exists {table} (\n    {body}\n)"


def raw_table_ddl(source: str) -> str:
    columns = [(c.name, c.storage_type) for c in SOURCES[source].columns]
    return _ddl(f"raw.{source}", [*columns, *RAW_META_COLUMNS])


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and all its tables if missing (idempotent).

    All six source tables always exist, even before their first file lands, so
    that dbt sources and checks can rely on them.
    """
    conn.execute("create schema if not exists raw")
    for source in SOURCES:
        conn.execute(raw_table_ddl(source))
    conn.execute(_ddl("raw.quarantine", QUARANTINE_COLUMNS))
    conn.execute(_ddl("raw.ingestion_log", INGESTION_LOG_COLUMNS))


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the session settings every writer relies on."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    conn.execute("set enable_progress_bar = false")
    # Timestamps are stored as instants; naive inputs mean UTC (docs/sources.md).
    conn.execute("set TimeZone = 'UTC'")
    return conn


RETRY_INTERVAL = 0.5


class WarehouseBusy(Exception):
    """Another process holds the warehouse; try again later."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "different configuration" in text


@contextmanager
def open_warehouse(
    path: str | Path, read_only: bool = False, wait_seconds: float = 0.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one short unit of work, committed on success and always closed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            conn = connect(path, read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not _is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse {Path(path).name} is locked by another process") from None
            time.sleep(RETRY_INTERVAL)
    try:
        if not read_only:
            conn.execute("begin transaction")
        yield conn
        if not read_only:
            conn.execute("commit")
    except BaseException:
        if not read_only:
            with contextlib.suppress(duckdb.Error):
                conn.execute("rollback")
        raise
    finally:
        conn.close()
