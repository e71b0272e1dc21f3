"""Raw -> staging -> marts: the dbt project as Dagster assets."""

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_duckdb import DuckDBResource

from ops_pipeline.dbt_resource import OpsDbtCliResource, dbt_project, ensure_manifest
from ops_pipeline.partitions import run_window
from ops_pipeline.resources import OpsSettings


class OpsDbtTranslator(DagsterDbtTranslator):
    """Keys are <schema>/<name>; groups follow the dbt folders (marts/<domain> -> domain)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        folders = fqn[1:-1]
        if folders[:1] == ["marts"] and len(folders) > 1:
            return folders[1]
        return folders[0] if folders else "dbt"


# Marts whose materialisations carry a preview in the UI.
PREVIEWS = {
    "kpi_daily": "select * from marts.kpi_daily order by date desc limit 14",
    "channel_daily": "select * from marts.channel_daily where date = (select max(date) from marts.channel_daily) "
    "order by spend desc nulls last limit 10",
    "kol_scorecard": "select * from marts.kol_scorecard order by score desc nulls last limit 10",
}


def column_schema(conn, schema: str, name: str, described: TableSchema | None) -> TableSchema | None:
    """The columns of schema.name as DuckDB has them (name, type, in order), each with its
    description in `described` (the dbt model's columns, as dagster-dbt read them from the manifest)."""
    descriptions = {column.name: column.description for column in described.columns} if described else {}
    columns = conn.execute(
        "select column_name, data_type from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()
    if not columns:
        return None
    return TableSchema(
        columns=[TableColumn(column, data_type, description=descriptions.get(column)) for column, data_type in columns]
    )


def with_table_metadata(context: AssetExecutionContext, outputs: list[Output], conn) -> Iterator[Output]:
    """The model outputs with dagster/row_count on every built table, dagster/column_schema (DuckDB's
    column types and the dbt descriptions) on every built relation, and a preview on the headline marts."""
    tables = {
        (schema, name)
        for schema, name in conn.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }
    for output in outputs:
        key = context.asset_key_for_output(output.output_name)
        schema, name = key.path[-2:]
        metadata = dict(output.metadata)
        if (schema, name) in tables:
            metadata["dagster/row_count"] = conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
        described = context.assets_def.specs_by_key[key].metadata.get("dagster/column_schema")
        if columns := column_schema(conn, schema, name, described):
            metadata["dagster/column_schema"] = columns
        if name in PREVIEWS and (schema, name) in tables:
            preview = conn.execute(PREVIEWS[name]).df()
            metadata["preview"] = MetadataValue.md(preview.to_markdown(index=False, floatfmt=".4g"))
        yield Output(
            output.value,
            output_name=output.output_name,
            metadata=metadata,
            data_version=output.data_version,
            tags=output.tags,
        )


def keep_parse_state(run_target: Path) -> None:
    """Make this run's parse state the one the next run starts from.

    dagster-dbt gives each run a target folder of its own, seeded with the project's
    partial_parse.msgpack; with this run's copy there, the next run with the same
    profile re-parses only the files that changed since (about 0.3 s instead of 2 s).
    """
    state = run_target / "partial_parse.msgpack"
    if state.exists():
        kept = dbt_project.project_dir / dbt_project.target_path / state.name
        staged = kept.with_suffix(f".{os.getpid()}")
        shutil.copyfile(state, staged)
        staged.replace(kept)  # atomic: a concurrent run reads the old state or the new one


# Each dbt invocation leaves a target folder of its own (dbt.log, run_results.json, the
# compiled SQL: about 5 MB at 10M events). The newest ones stay for looking into past runs.
RUN_TARGETS_KEPT = 30


def prune_run_targets(run_target: Path, keep: int = RUN_TARGETS_KEPT) -> None:
    """Delete all but the newest `keep` target folders of this op's dbt invocations, the
    siblings of run_target named like it (<op name>-<run id>-<suffix>)."""
    prefix = run_target.name.split("-", 1)[0] + "-"
    folders = sorted(
        (p for p in run_target.parent.iterdir() if p.is_dir() and p.name.startswith(prefix)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def build_dbt_assets() -> AssetsDefinition:
    ensure_manifest()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=OpsDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    )
    def dbt_models(context: AssetExecutionContext, dbt: OpsDbtCliResource, duckdb: DuckDBResource, ops: OpsSettings):
        """Every model covers all days; incremental ones recompute the run's landing days plus the lookback."""
        window = run_window(context.run.tags)
        # The dbt process reads the warehouse, its memory cap, the time zone and the run's window
        # from its environment (profiles.yml, dbt_project.yml, macros/run_window.sql). Passed as --vars,
        # a window that changes every run would make dbt parse the whole project every time.
        dbt_env = {
            "OPS_WAREHOUSE": duckdb.database,
            "OPS_DUCKDB_MEMORY_LIMIT": ops.duckdb_memory_limit,
            "OPS_TIMEZONE": ops.timezone,
            "OPS_DBT_MIN_DATE": window["min_date"] or "",
            "OPS_DBT_MAX_DATE": window["max_date"] or "",
            # dbt's own log file (dbt.log in the run's target folder) at info, not debug: the
            # debug file logs every SQL statement in full, on the cores DuckDB works on. At 10M
            # events the dbt stage took 39-45 s with it, 33-35 s without. The compiled SQL stays
            # in the target folder; `dbt --debug` shows it when needed.
            "DBT_LOG_LEVEL_FILE": "info",
        }
        context.log.info(f"dbt run window: {window}, time zone {ops.timezone}")
        # Unit tests check the SQL, not the data: they run in the test suite, not on every build.
        invocation = dbt.cli_with_env(["build", "--exclude-resource-type", "unit_test"], dbt_env, context=context)
        # Test results (asset checks) go to Dagster's event log as dbt reports them, while it
        # works. DuckDB has one writer, so the model outputs wait for dbt to release the
        # warehouse, and then carry the row counts and column types. (dagster-dbt's own
        # fetch_row_counts / fetch_column_metadata would need dbt's in-process adapter, which
        # holds the warehouse open with another configuration than this process's connections.)
        outputs = []
        for event in invocation.stream():
            if isinstance(event, Output):
                outputs.append(event)
            else:
                yield event
        keep_parse_state(invocation.target_path)
        prune_run_targets(invocation.target_path)
        with duckdb.get_connection() as conn:
            yield from with_table_metadata(context, outputs, conn)

    return dbt_models
