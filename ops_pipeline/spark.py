"""Write the raw layer of the DuckDB warehouse as Parquet into the Spark warehouse, for `dbt build --target spark`.

Ingestion stays in DuckDB (its readers parse and check the landing files);
this module writes each raw.* table with DuckDB's `COPY ... (FORMAT parquet)`
to <spark warehouse>/raw.db/<table>/, the folder Spark itself would use for a
table raw.<table>. dbt registers those folders as external Parquet tables of
the database raw when it starts on Spark (the on-run-start hook
register_raw_tables, dbt_project/macros/register_raw_tables.sql): with
`method: session` the Spark session lives inside the dbt process, so the
tables are declared there, and on a cluster the same hook declares them on the
cluster's metastore (the folder must then be on storage the cluster reads).

Types: TIMESTAMP WITH TIME ZONE becomes a Parquet timestamp adjusted to UTC,
which Spark reads as its TIMESTAMP (an instant); every other raw type maps to
the Spark type of the same name.

    python -m ops_pipeline.spark --warehouse data/warehouse.duckdb --spark-warehouse data/spark-warehouse
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import connect

RAW_SCHEMA = "raw"
# Spark's layout: database <name> in <warehouse>/<name>.db, table <t> in <name>.db/<t>.
RAW_FOLDER = f"{RAW_SCHEMA}.db"


def raw_table_folder(spark_warehouse: str | Path, table: str) -> Path:
    return Path(spark_warehouse) / RAW_FOLDER / table


def export_raw_to_parquet(duckdb_path: str | Path, spark_warehouse: str | Path) -> dict[str, int]:
    """Replace each <spark_warehouse>/raw.db/<table>/ by the DuckDB warehouse's raw.<table>; rows per table.

    Each table is written to a hidden sibling folder first and then swapped in
    by renaming, so a reader sees the old files or the new ones, never half a table.
    """
    duck = connect(duckdb_path, read_only=True)
    duck.execute("set enable_progress_bar = false")
    written: dict[str, int] = {}
    try:
        tables = [
            row[0]
            for row in duck.execute(
                "select table_name from information_schema.tables where table_schema = ? order by table_name",
                [RAW_SCHEMA],
            ).fetchall()
        ]
        for table in tables:
            written[table] = _write_table(duck, table, raw_table_folder(spark_warehouse, table))
    finally:
        duck.close()
    return written


def _write_table(duck, table: str, folder: Path) -> int:
    incoming = folder.with_name(f".incoming-{table}")
    retired = folder.with_name(f".retired-{table}")
    for leftover in (incoming, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    incoming.mkdir(parents=True)
    target = str(incoming / "part-00000.parquet").replace("'", "''")
    quoted = '"' + table.replace('"', '""') + '"'
    duck.execute(f"copy (select * from {RAW_SCHEMA}.{quoted}) to '{target}' (format parquet, compression zstd)")
    rows = duck.execute(f"select count(*) from {RAW_SCHEMA}.{quoted}").fetchone()[0]
    if folder.exists():
        folder.rename(retired)
    incoming.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
    return rows


def session_conf(spark_warehouse: str | Path) -> dict[str, str]:
    """What a local Spark session needs to see the warehouse dbt built: the same folder, the same
    Derby metastore inside it (server_side_parameters of the `spark` target, dbt_project/profiles.yml)."""
    folder = str(Path(spark_warehouse).resolve())
    return {
        "spark.sql.warehouse.dir": folder,
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={folder}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def local_session(spark_warehouse: str | Path):
    """A local Spark session on the warehouse dbt built, to read its tables (e.g. in a notebook or a test).

    The Derby metastore admits one process at a time: open it while no dbt run is on it."""
    from pyspark.sql import SparkSession  # here: only the Spark path needs pyspark

    builder = SparkSession.builder.master("local[*]").appName("ops_pipeline").enableHiveSupport()
    for key, value in session_conf(spark_warehouse).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m ops_pipeline.spark", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=settings.warehouse,
        help="DuckDB warehouse to read raw.* from (default: $OPS_WAREHOUSE or data/warehouse.duckdb)",
    )
    parser.add_argument(
        "--spark-warehouse",
        type=Path,
        default=settings.spark_warehouse_path,
        help="Spark warehouse to write raw.db/ into (default: $OPS_SPARK_WAREHOUSE or spark-warehouse/ beside it)",
    )
    args = parser.parse_args(argv)
    for table, rows in export_raw_to_parquet(args.warehouse, args.spark_warehouse).items():
        print(f"raw.{table}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
