"""Raw -> staging -> marts: the dbt project as Dagster assets."""

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MetadataValue, Output
from dagster_duckdb import DuckDBResource
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from ops_pipeline.dbt_project import dbt_project, ensure_manifest
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


def with_table_metadata(context: AssetExecutionContext, events: list, conn) -> Iterator:
    """Add dagster/row_count to every built table, and a preview to the headline marts."""
    tables = {(schema, name) for schema, name in conn.execute(
        "select schema_name, table_name from duckdb_tables()").fetchall()}
    for event in events:
        if isinstance(event, Output):
            schema, name = context.asset_key_for_output(event.output_name).path[-2:]
            metadata = dict(event.metadata)
            if (schema, name) in tables:
                metadata["dagster/row_count"] = conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            if name in PREVIEWS and (schema, name) in tables:
                preview = conn.execute(PREVIEWS[name]).df()
                metadata["preview"] = MetadataValue.md(preview.to_markdown(index=False, floatfmt=".4g"))
            event = Output(event.value, output_name=event.output_name, metadata=metadata,
                           data_version=event.data_version, tags=event.tags)
        yield event


def build_dbt_assets() -> AssetsDefinition:
    ensure_manifest()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=OpsDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource, ops: OpsSettings):
        """Every model covers all days; incremental ones recompute the run's landing days plus the lookback."""
        # profiles.yml reads the warehouse path from the environment of the dbt process.
        os.environ["OPS_WAREHOUSE"] = duckdb.database
        dbt_vars = {**run_window(context.run.tags), "timezone": ops.timezone}
        context.log.info(f"dbt vars: {dbt_vars}")
        # DuckDB has one writer: collect dbt's events (its logs still stream live), then read the
        # row counts once dbt has released the warehouse.
        # Unit tests check the SQL, not the data: they run in the test suite, not on every build.
        args = ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(dbt_vars)]
        events = list(dbt.cli(args, context=context).stream())
        with duckdb.get_connection() as conn:
            yield from with_table_metadata(context, events, conn)

    return dbt_models
