"""The DuckDB warehouse: where it lives and the raw layer's tables."""

from __future__ import annotations

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
    # Timestamps are stored as instants; naive inputs mean UTC (sources.md).
    conn.execute("set TimeZone = 'UTC'")
    return conn
