"""The dbt project on Apache Spark: the same tables as on DuckDB, from the same raw data.

One generated dataset is ingested into DuckDB by the real ingestion, its raw
layer written as Parquet into a Spark warehouse (ops_pipeline/spark.py), and
the unchanged dbt project is built on both targets the way Dagster runs it:
the history in full, then the last landing days as a windowed incremental
`dbt build` (data tests included, unit tests left out as Dagster leaves them
out), the raw layer written again in between. On Spark, dbt runs a real local Spark (pyspark, `method: session`)
inside its own process, Java from Debian (installed when missing). Then every
model of staging, intermediate and marts is read back through one local Spark
session on the same metastore and compared row for row with DuckDB's: same
relations, same columns with the same kind of type, same rows; floats equal
within 1e-9 relative, timestamps compared as instants.

Column order: Spark keeps a table's partition columns last (the incremental
models are partitioned by event_date there), so columns are compared by name.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ops_pipeline import landing
from ops_pipeline.contract import SOURCES
from ops_pipeline.generator import generate
from ops_pipeline.ingest import ingest_range
from ops_pipeline.spark import export_raw_to_parquet, local_session
from ops_pipeline.warehouse import connect, ensure_raw_schema
from tests.system_packages import command
from tests.table_compare import SHOWN_DIFFERENCES, dbt_executable, paired_differences, sorted_rows

pytestmark = pytest.mark.slow

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
START, DAYS, USERS, SEED = date(2026, 9, 1), 20, 800, 5
TIMEZONE, PII_SALT = "Asia/Shanghai", "portability-test-salt"
LAYERS = ("staging", "intermediate", "marts")
MODELS = sorted((layer, path.stem) for layer in LAYERS for path in (DBT_PROJECT / "models" / layer).rglob("*.sql"))
RAW_TABLES = sorted([*SOURCES, "quarantine", "ingestion_log"])
JAVA_PACKAGE = "openjdk-17-jre-headless"  # the Java of pyspark 3.5 (8, 11 or 17), as `make install` installs it
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# information_schema.columns.data_type on DuckDB, DataType.simpleString() on Spark -> the kind of value held.
TYPE_KINDS = {
    "VARCHAR": "text",
    "string": "text",
    "BIGINT": "integer",
    "INTEGER": "integer",
    "HUGEINT": "integer",
    "SMALLINT": "integer",
    "bigint": "integer",
    "int": "integer",
    "smallint": "integer",
    "DOUBLE": "float",
    "FLOAT": "float",
    "double": "float",
    "float": "float",
    "DATE": "date",
    "date": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "timestamp": "timestamptz",  # Spark's TIMESTAMP is an instant (shown in the session's zone)
    "TIMESTAMP": "timestamp",
    "timestamp_ntz": "timestamp",
    "BOOLEAN": "boolean",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Builds:
    warehouse: Path
    spark_warehouse: Path


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Builds:
    """Built the way Dagster builds: a full build of the history, then one windowed run of the last days."""
    command("java", package=JAVA_PACKAGE)
    root = tmp_path_factory.mktemp("spark_portability")
    generate(root / "landing", START, days=DAYS, users=USERS, seed=SEED)
    scan = landing.scan(root / "landing")
    days = scan.days()
    history, window = (days[0], days[-3]), (days[-2], days[-1])
    warehouse, spark_warehouse = root / "warehouse.duckdb", root / "spark-warehouse"

    _ingest(scan, warehouse, *history)
    export_raw_to_parquet(warehouse, spark_warehouse)
    _dbt_on_both(root, "history", ["run"], warehouse, spark_warehouse)

    # the incremental models delete (DuckDB) or drop as partitions (Spark) the recomputed dates, then append them
    _ingest(scan, warehouse, *window)
    export_raw_to_parquet(warehouse, spark_warehouse)
    vars_ = json.dumps({"min_date": window[0].isoformat(), "max_date": window[1].isoformat()})
    # as Dagster builds (assets/dbt.py): unit tests check the SQL, not the data; they are left out here
    # because on Spark each one costs a Spark job per input (minutes in all on two cores)
    _dbt_on_both(
        root, "window", ["build", "--exclude-resource-type", "unit_test", "--vars", vars_], warehouse, spark_warehouse
    )
    return Builds(warehouse, spark_warehouse)


def _ingest(scan: landing.LandingScan, warehouse: Path, first_day: date, last_day: date) -> None:
    conn = connect(warehouse)
    try:
        ensure_raw_schema(conn)
        for source, files in scan.by_source_day().items():
            days = ingest_range(conn, source, first_day, last_day, files, timezone_name=TIMEZONE, pii_salt=PII_SALT)
            assert not [day.error for day in days if day.error]
    finally:
        conn.close()


def _dbt_on_both(root: Path, step: str, arguments: list[str], warehouse: Path, spark_warehouse: Path) -> None:
    """The same dbt command on both targets at once (two engines, two target and log folders)."""
    envs = {"duckdb": {"OPS_WAREHOUSE": str(warehouse)}, "spark": {"OPS_SPARK_WAREHOUSE": str(spark_warehouse)}}
    runs = {}
    for target, env in envs.items():
        command_line = [
            dbt_executable(),
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
            runs[target] = subprocess.Popen(
                command_line, env={**os.environ, **env}, cwd=root, stdout=output, stderr=subprocess.STDOUT
            )
    for target, process in runs.items():
        process.wait(timeout=1200)
        output = (root / f"dbt_{step}_{target}.out").read_text()
        assert process.returncode == 0, f"dbt {' '.join(arguments)} --target {target} failed:\n{output[-6000:]}"


@pytest.fixture(scope="module")
def duck(builds):
    conn = connect(builds.warehouse, read_only=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def spark(builds):
    session = local_session(builds.spark_warehouse)
    yield session
    session.stop()


# --- the tests ---------------------------------------------------------------------------------


def test_raw_layer_is_written_exactly(duck, spark):
    for table in RAW_TABLES:
        _assert_same_relation(duck, spark, "raw", table)


def test_both_engines_hold_every_model(duck, spark):
    query = (
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({', '.join(repr(layer) for layer in LAYERS)})"
    )
    assert sorted(duck.execute(query).fetchall()) == MODELS
    on_spark = [(layer, row.tableName) for layer in LAYERS for row in spark.sql(f"show tables in {layer}").collect()]
    assert sorted(on_spark) == MODELS


@pytest.mark.parametrize(("schema", "model"), MODELS, ids=[f"{schema}.{model}" for schema, model in MODELS])
def test_model_is_the_same_on_spark(duck, spark, schema, model):
    _assert_same_relation(duck, spark, schema, model)


# --- comparison --------------------------------------------------------------------------------


def _assert_same_relation(duck, spark, schema: str, name: str) -> None:
    columns_query = (
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
    )
    duck_columns = [(column, TYPE_KINDS.get(type_, type_)) for column, type_ in duck.execute(columns_query).fetchall()]
    assert duck_columns, f"{schema}.{name} is missing on DuckDB"
    spark_types = {field.name: field.dataType.simpleString() for field in spark.table(f"{schema}.{name}").schema}
    spark_columns = {column: TYPE_KINDS.get(type_, type_) for column, type_ in spark_types.items()}
    assert spark_columns == dict(duck_columns), f"{schema}.{name}: columns (name, kind of type) differ"

    names = [column for column, _ in duck_columns]
    duck_select = ", ".join(f'"{column}"' for column in names)
    duck_rows = sorted_rows(duck.execute(f'select {duck_select} from {schema}."{name}"').fetchall())
    spark_rows = sorted_rows(_spark_rows(spark, schema, name, names, spark_types))
    assert len(spark_rows) == len(duck_rows), (
        f"{schema}.{name}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark"
    )
    differences = paired_differences(names, duck_rows, spark_rows, "DuckDB", "Spark")
    assert not differences, f"{schema}.{name}: {len(differences)} of {len(duck_rows)} rows differ, e.g.\n" + "\n".join(
        differences[:SHOWN_DIFFERENCES]
    )


def _spark_rows(spark, schema: str, name: str, names: list[str], types: dict[str, str]) -> list[tuple]:
    """The rows in DuckDB's column order; timestamps as UTC instants (PySpark would return
    naive datetimes in this process's local zone), timestamp_ntz as naive datetimes."""
    selected = []
    for column in names:
        if types[column] == "timestamp":
            selected.append(f"unix_micros(`{column}`)")
        elif types[column] == "timestamp_ntz":
            selected.append(f"unix_micros(cast(`{column}` as timestamp))")  # the session's zone is UTC
        else:
            selected.append(f"`{column}`")
    rows = spark.sql(f"select {', '.join(selected)} from {schema}.`{name}`").collect()
    converters = [
        _instant if types[c] == "timestamp" else _wall_clock if types[c] == "timestamp_ntz" else None for c in names
    ]
    return [
        tuple(value if convert is None or value is None else convert(value) for value, convert in zip(row, converters))
        for row in rows
    ]


def _instant(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _wall_clock(micros: int) -> datetime:
    return (EPOCH + timedelta(microseconds=micros)).replace(tzinfo=None)
