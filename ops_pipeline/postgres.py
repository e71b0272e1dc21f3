"""Copy the raw layer of the DuckDB warehouse into PostgreSQL, for `dbt build --target postgres`.

Ingestion stays in DuckDB (its readers parse and check the landing files);
this module puts the resulting raw.* tables into a PostgreSQL database with
the same names, columns and types, so that the unchanged dbt project builds
the same marts there. DuckDB streams each table as Arrow record batches,
each batch is written as CSV and fed to PostgreSQL's COPY FROM STDIN: no row
goes through Python objects, and memory stays at one batch.

    python -m ops_pipeline.postgres --warehouse data/warehouse.duckdb
    # connection from OPS_PG_HOST / OPS_PG_PORT / OPS_PG_USER / OPS_PG_PASSWORD / OPS_PG_DBNAME,
    # the variables of the `postgres` target in dbt_project/profiles.yml
"""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg2 import sql

from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import connect

RAW_SCHEMA = "raw"
BATCH_ROWS = 100_000

# DuckDB type (information_schema.columns.data_type) -> PostgreSQL type.
POSTGRES_TYPES = {
    "VARCHAR": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


def dsn_from_env(env: Mapping[str, str] | None = None) -> str:
    """The libpq connection string of the dbt `postgres` target (same variables, same defaults)."""
    env = os.environ if env is None else env
    parts = {
        "host": env.get("OPS_PG_HOST", "localhost"),
        "port": env.get("OPS_PG_PORT", "5432"),
        "user": env.get("OPS_PG_USER", "postgres"),
        "password": env.get("OPS_PG_PASSWORD", ""),
        "dbname": env.get("OPS_PG_DBNAME", "ops"),
    }
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in parts.items() if value != "")


def copy_raw_to_postgres(duckdb_path: str | Path, pg_dsn: str, *, batch_rows: int = BATCH_ROWS) -> dict[str, int]:
    """Replace schema raw of the PostgreSQL database by the DuckDB warehouse's; rows copied per table.

    All tables are replaced in one PostgreSQL transaction, so readers see the
    old raw layer or the new one, never a mix. A table whose columns still
    match is truncated and refilled (the dbt views on it survive); one whose
    columns changed is dropped with what depends on it and created again
    (the next `dbt build` recreates those views).
    """
    duck = connect(duckdb_path, read_only=True)
    duck.execute("set enable_progress_bar = false")
    pg = psycopg2.connect(pg_dsn)
    copied: dict[str, int] = {}
    try:
        tables = _duckdb_columns(duck)
        with pg, pg.cursor() as cursor:
            cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
            for table, columns in tables.items():
                _prepare_table(cursor, table, columns)
                copied[table] = _copy_table(duck, cursor, table, [name for name, _ in columns], batch_rows)
        # fresh statistics for the planner of the dbt build that follows
        pg.autocommit = True
        with pg.cursor() as cursor:
            for table in tables:
                cursor.execute(sql.SQL("analyze {}").format(sql.Identifier(RAW_SCHEMA, table)))
    finally:
        pg.close()
        duck.close()
    return copied


def _duckdb_columns(duck) -> dict[str, list[tuple[str, str]]]:
    rows = duck.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [RAW_SCHEMA],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, duck_type in rows:
        if duck_type not in POSTGRES_TYPES:
            raise ValueError(f"{RAW_SCHEMA}.{table}.{column}: no PostgreSQL type for DuckDB type {duck_type}")
        tables.setdefault(table, []).append((column, POSTGRES_TYPES[duck_type]))
    return tables


def _prepare_table(cursor, table: str, columns: list[tuple[str, str]]) -> None:
    """An empty raw.<table> with exactly these columns and types."""
    target = sql.Identifier(RAW_SCHEMA, table)
    cursor.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped order by attnum",
        (target.as_string(cursor),),
    )
    existing = cursor.fetchall()
    if existing == [(name, _canonical(type_)) for name, type_ in columns]:
        cursor.execute(sql.SQL("truncate table {}").format(target))
        return
    if existing:
        cursor.execute(sql.SQL("drop table {} cascade").format(target))
    cursor.execute(
        sql.SQL("create table {} ({})").format(
            target,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_)) for name, type_ in columns
            ),
        )
    )


def _canonical(postgres_type: str) -> str:
    """How format_type() spells a type of POSTGRES_TYPES."""
    return {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone"}.get(
        postgres_type, postgres_type
    )


def _copy_table(duck, cursor, table: str, column_names: list[str], batch_rows: int) -> int:
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in column_names)
    duck_columns = ", ".join('"' + name.replace('"', '""') + '"' for name in column_names)
    batches = duck.sql(f'select {duck_columns} from {RAW_SCHEMA}."{table}"').to_arrow_reader(batch_rows)
    stream = _CsvStream(batches)
    # CSV as Arrow writes it: every string quoted, NULL as an empty unquoted field,
    # which is exactly how COPY's CSV format tells NULL from ''.
    copy = sql.SQL("copy {} ({}) from stdin with (format csv)").format(sql.Identifier(RAW_SCHEMA, table), columns)
    cursor.copy_expert(copy.as_string(cursor), stream, size=1 << 20)
    return stream.rows


class _CsvStream(io.RawIOBase):
    """A read-only file of CSV text, produced batch by batch from Arrow record batches."""

    def __init__(self, batches: pa.RecordBatchReader):
        self._chunks = self._render(batches)
        self._chunk = memoryview(b"")
        self._offset = 0
        self.rows = 0

    def _render(self, batches: pa.RecordBatchReader) -> Iterator[memoryview]:
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        for batch in batches:
            if batch.num_rows == 0:
                continue
            self.rows += batch.num_rows
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(batch, sink, options)
            yield memoryview(sink.getvalue())

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes (all that is left when size < 0); b"" at the end."""
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._offset == len(self._chunk):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._offset = chunk, 0
            end = len(self._chunk) if wanted < 0 else min(len(self._chunk), self._offset + wanted)
            parts.append(self._chunk[self._offset : end].tobytes())
            if wanted > 0:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)


def _libpq_value(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops_pipeline.postgres", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=Settings.from_env().warehouse,
        help="DuckDB warehouse to read raw.* from (default: $OPS_WAREHOUSE or data/warehouse.duckdb)",
    )
    parser.add_argument("--dsn", default=None, help="libpq connection string (default: from the OPS_PG_* variables)")
    args = parser.parse_args(argv)
    copied = copy_raw_to_postgres(args.warehouse, args.dsn or dsn_from_env())
    for table, rows in copied.items():
        print(f"raw.{table}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
