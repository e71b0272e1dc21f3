"""The dbt project on PostgreSQL: the same tables as on DuckDB, from the same raw data.

One generated dataset is ingested into DuckDB by the real ingestion, its raw
layer copied into a real PostgreSQL server (tests/pg_server.py starts one,
installing Debian's package when needed), and the unchanged dbt project is
built on both targets the way Dagster runs it: the history in full, then the
last landing days as a windowed incremental `dbt build` (unit and data tests
included), the raw layer copied again in between. Then
every model of staging, intermediate and marts is compared row for row: same
relations, same columns with the same kind of type, same rows; floats equal
within 1e-9 relative, timestamps compared as instants.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from ops_pipeline import landing
from ops_pipeline.contract import SOURCES
from ops_pipeline.generator import generate
from ops_pipeline.ingest import ingest_range
from ops_pipeline.postgres import copy_raw_to_postgres
from ops_pipeline.warehouse import connect, ensure_raw_schema
from tests.pg_server import PostgresServer, postgres_server
from tests.table_compare import SHOWN_DIFFERENCES, dbt_executable, paired_differences, sorted_rows

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
START, DAYS, USERS, SEED = date(2026, 9, 1), 20, 800, 5
TIMEZONE, PII_SALT = "Asia/Shanghai", "portability-test-salt"
LAYERS = ("staging", "intermediate", "marts")
MODELS = sorted((layer, path.stem) for layer in LAYERS for path in (DBT_PROJECT / "models" / layer).rglob("*.sql"))
RAW_TABLES = sorted([*SOURCES, "quarantine", "ingestion_log"])
# Floating point sums may add up in another order on another engine: floats are
# equal within 1e-9 relative (1e-12 absolute, for sums that cancel out to ~0),
# see tests/table_compare.py.

# information_schema.columns.data_type on either engine -> the kind of value it holds.
TYPE_KINDS = {
    "VARCHAR": "text",
    "text": "text",
    "character varying": "text",
    "BIGINT": "integer",
    "INTEGER": "integer",
    "HUGEINT": "integer",
    "SMALLINT": "integer",
    "bigint": "integer",
    "integer": "integer",
    "smallint": "integer",
    "DOUBLE": "float",
    "FLOAT": "float",
    "double precision": "float",
    "real": "float",
    "numeric": "decimal",
    "DATE": "date",
    "date": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "timestamp with time zone": "timestamptz",
    "TIMESTAMP": "timestamp",
    "timestamp without time zone": "timestamp",
    "BOOLEAN": "boolean",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Builds:
    warehouse: Path
    postgres: PostgresServer


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def builds(tmp_path_factory, postgres) -> Builds:
    """Built the way Dagster builds: a full build of the history, then one windowed run of the last days."""
    root = tmp_path_factory.mktemp("postgres_portability")
    generate(root / "landing", START, days=DAYS, users=USERS, seed=SEED)
    scan = landing.scan(root / "landing")
    days = scan.days()
    history, window = (days[0], days[-3]), (days[-2], days[-1])
    warehouse = root / "warehouse.duckdb"

    _ingest(scan, warehouse, *history)
    copy_raw_to_postgres(warehouse, postgres.dsn)
    _dbt_on_both(root, "history", ["run"], warehouse, postgres)

    # the incremental models delete and append the recomputed dates on both engines
    _ingest(scan, warehouse, *window)
    copy_raw_to_postgres(warehouse, postgres.dsn)
    vars_ = json.dumps({"min_date": window[0].isoformat(), "max_date": window[1].isoformat()})
    _dbt_on_both(root, "window", ["build", "--vars", vars_], warehouse, postgres)
    return Builds(warehouse, postgres)


def _ingest(scan: landing.LandingScan, warehouse: Path, first_day: date, last_day: date) -> None:
    conn = connect(warehouse)
    try:
        ensure_raw_schema(conn)
        for source, files in scan.by_source_day().items():
            days = ingest_range(conn, source, first_day, last_day, files, timezone_name=TIMEZONE, pii_salt=PII_SALT)
            assert not [day.error for day in days if day.error]
    finally:
        conn.close()


def _dbt_on_both(root: Path, step: str, arguments: list[str], warehouse: Path, postgres: PostgresServer) -> None:
    """The same dbt command on both targets at once (two engines, two target and log folders)."""
    dbt = dbt_executable()
    envs = {"duckdb": {"OPS_WAREHOUSE": str(warehouse)}, "postgres": postgres.dbt_env()}
    runs = {}
    for target, env in envs.items():
        command = [
            dbt,
            *arguments,
            "--target",
            target,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(root / f"target_{target}"),
            "--log-path",
            str(root / f"logs_{target}"),
        ]
        with open(root / f"dbt_{step}_{target}.out", "w") as output:
            runs[target] = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
    for target, process in runs.items():
        process.wait(timeout=600)
        output = (root / f"dbt_{step}_{target}.out").read_text()
        assert process.returncode == 0, f"dbt {' '.join(arguments)} --target {target} failed:\n{output[-6000:]}"


@pytest.fixture(scope="module")
def duck(builds):
    conn = connect(builds.warehouse, read_only=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def pg(builds):
    conn = psycopg2.connect(builds.postgres.dsn)
    conn.set_session(readonly=True, autocommit=True)
    yield conn
    conn.close()


# --- the tests ---------------------------------------------------------------------------------


def test_raw_layer_is_copied_exactly(duck, pg):
    for table in RAW_TABLES:
        _assert_same_relation(duck, pg, "raw", table)


def test_both_engines_hold_every_model(duck, pg):
    query = (
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({', '.join(repr(layer) for layer in LAYERS)})"
    )
    assert sorted(duck.execute(query).fetchall()) == MODELS
    assert sorted(_pg_rows(pg, query)) == MODELS


@pytest.mark.parametrize(("schema", "model"), MODELS, ids=[f"{schema}.{model}" for schema, model in MODELS])
def test_model_is_the_same_on_postgres(duck, pg, schema, model):
    _assert_same_relation(duck, pg, schema, model)


# --- comparison --------------------------------------------------------------------------------


def _assert_same_relation(duck, pg, schema: str, name: str) -> None:
    columns_query = (
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
    )
    duck_columns = [(column, TYPE_KINDS.get(type_, type_)) for column, type_ in duck.execute(columns_query).fetchall()]
    pg_columns = [(column, TYPE_KINDS.get(type_, type_)) for column, type_ in _pg_rows(pg, columns_query)]
    assert duck_columns, f"{schema}.{name} is missing on DuckDB"
    assert pg_columns == duck_columns, f"{schema}.{name}: columns (name, kind of type) differ"

    select = f'select * from {schema}."{name}"'
    duck_rows = sorted_rows(duck.execute(select).fetchall())
    pg_rows = sorted_rows(_pg_rows(pg, select))
    assert len(pg_rows) == len(duck_rows), (
        f"{schema}.{name}: {len(duck_rows)} rows on DuckDB, {len(pg_rows)} on PostgreSQL"
    )
    names = [column for column, _ in duck_columns]
    differences = paired_differences(names, duck_rows, pg_rows, "DuckDB", "PostgreSQL")
    assert not differences, f"{schema}.{name}: {len(differences)} of {len(duck_rows)} rows differ, e.g.\n" + "\n".join(
        differences[:SHOWN_DIFFERENCES]
    )


def _pg_rows(pg, query: str) -> list[tuple]:
    with pg.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()
