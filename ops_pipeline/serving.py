"""Publish the marts to a read-only serving database that BI tools query.

DuckDB allows one writer or many readers, never both. BI tools therefore never
open the pipeline's warehouse: after a build whose checks passed, the marts
are copied into a new file beside the serving database and renamed over it.
The rename is atomic, so a reader opens either the previous version or the
new one, never a half-written file, and a reader with the old file open keeps
reading it undisturbed.

Every table and column of the copy carries its description as a DuckDB COMMENT (the
dbt models' descriptions, from the manifest), which BI tools show beside the names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

PUBLICATION_TABLE = "_publication"


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: Mapping[str, str]  # column -> description


PUBLICATION_DOC = TableDoc(
    "Which version of the marts this serving file holds: one row per published table, all rows "
    "with the same version. A reader sees the whole version when every table's count(*) equals row_count.",
    {
        "version": "Version of this publication, the UTC time it started (YYYYMMDDTHHMMSS.ffffffZ); later is newer.",
        "run_id": "Dagster run that published this version.",
        "published_at": "When the tables were copied (UTC).",
        "table_name": "A table of schema marts in this file.",
        "row_count": "Rows of that table in this version.",
    },
)


def mart_docs(manifest: Mapping[str, Any]) -> dict[str, TableDoc]:
    """The description of every table of schema marts and of its columns, by table name: the dbt
    models, and the review marts built in Python (declared as dbt sources of schema marts)."""
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    sources = [s for s in manifest.get("sources", {}).values() if s["schema"] == "marts"]
    return {
        node.get("alias") or node["name"]: TableDoc(
            node["description"], {name: column["description"] for name, column in node["columns"].items()}
        )
        for node in [*nodes, *sources]
    }


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(conn: duckdb.DuckDBPyConnection, table: str, doc: TableDoc) -> None:
    """Write doc as the COMMENTs of publishing.marts.<table> and of its columns that exist."""
    relation = f'publishing.marts."{table}"'
    if doc.description:
        conn.execute(f"comment on table {relation} is {_literal(doc.description)}")
    columns = conn.execute(
        "select column_name from duckdb_columns() where database_name = 'publishing' "
        "and schema_name = 'marts' and table_name = ?",
        [table],
    ).fetchall()
    for (column,) in columns:
        if doc.columns.get(column):
            conn.execute(f'comment on column {relation}."{column}" is {_literal(doc.columns[column])}')


@dataclass(frozen=True)
class Publication:
    path: Path
    version: str
    tables: dict[str, int]  # table -> rows


def publish_marts(
    conn: duckdb.DuckDBPyConnection,
    serving_path: Path,
    run_id: str | None = None,
    docs: Mapping[str, TableDoc] | None = None,
) -> Publication:
    """Copy every table of schema marts (through the warehouse connection) into serving_path,
    each table and column commented with its description in docs (mart_docs of the dbt manifest)."""
    docs = docs or {}
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
            if table in docs:
                _comment(conn, table, docs[table])
        # Readers can check which version they see and that it is whole.
        conn.execute(
            f"create table publishing.marts.{PUBLICATION_TABLE} (version varchar, run_id varchar, "
            "published_at timestamptz, table_name varchar, row_count bigint)"
        )
        _comment(conn, PUBLICATION_TABLE, PUBLICATION_DOC)
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
