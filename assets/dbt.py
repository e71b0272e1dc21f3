"""Raw -> staging -> marts: the dbt project as Dagster assets."""

import json
import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, BackfillPolicy, PartitionsDefinition
from dagster_duckdb import DuckDBResource
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from ops_pipeline.dbt_project import dbt_project, ensure_manifest
from ops_pipeline.partitions import landing_days_of
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


def build_dbt_assets(partitions_def: PartitionsDefinition) -> AssetsDefinition:
    ensure_manifest()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=OpsDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource, ops: OpsSettings):
        # profiles.yml reads the warehouse path from the environment of the dbt process.
        os.environ["OPS_WAREHOUSE"] = duckdb.database
        first_day, last_day = landing_days_of(*context.partition_time_window)
        dbt_vars = {"min_date": first_day.isoformat(), "max_date": last_day.isoformat(), "timezone": ops.timezone}
        yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()

    return dbt_models
