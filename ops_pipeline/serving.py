"""Publish the marts to a read-only serving database that BI tools query.

DuckDB allows one writer or many readers, never both. BI tools therefore never
open the pipeline's warehouse: after a build whose checks passed, the marts
are copied into a new file beside the serving database and renamed over it.
The rename is atomic, so a reader opens either the previous version or the
new one, never a half-written file, and a reader with the old file open keeps
reading it undisturbed.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PUBLICATION_TABLE = "_publication"


@dataclass(frozen=True)
class Publication:
    path: Path
    version: str
    tables: dict[str, int]  # table -> rows


def publish_marts(conn: duckdb.DuckDBPyConnection, serving_path: Path, run_id: str | None = None) -> Publication:
    """Copy every table of schema marts (through the warehouse connection) into serving_path."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    staging_file = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    tables = [
        name
        for (name,) in conn.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'marts' order by table_name"
        ).fetchall()
    ]
    counts: dict[str, int] = {}
    literal = "'" + str(staging_file).replace("'", "''") + "'"
    conn.execute(f"attach {literal} as publishing (read_only false)")
    try:
        conn.execute("create schema publishing.marts")
        for table in tables:
            conn.execute(f'create table publishing.marts."{table}" as select * from marts."{table}"')
            counts[table] = conn.execute(f'select count(*) from publishing.marts."{table}"').fetchone()[0]
        # Readers can check which version they see and that it is whole.
        conn.execute(
            f"create table publishing.marts.{PUBLICATION_TABLE} (version varchar, run_id varchar, "
            "published_at timestamptz, table_name varchar, row_count bigint)"
        )
        published_at = datetime.now(UTC)
        for table, rows in counts.items():
            conn.execute(
                f"insert into publishing.marts.{PUBLICATION_TABLE} values (?, ?, ?, ?, ?)",
                [version, run_id, published_at, table, rows],
            )
    finally:
        conn.execute("detach publishing")
    os.replace(staging_file, serving_path)
    return Publication(serving_path, version, counts)


def sqlalchemy_url(serving_path: Path) -> str:
    """What a BI tool connects with (duckdb-engine, read-only)."""
    return f"duckdb:///{serving_path}?access_mode=read_only"
