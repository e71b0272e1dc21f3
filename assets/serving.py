"""Marts -> serving: the read-only copy BI tools query while the pipeline writes."""

import json
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ops_pipeline.dbt_resource import dbt_project
from ops_pipeline.resources import OpsSettings
from ops_pipeline.serving import mart_docs, publish_marts, sqlalchemy_url

SERVING_KEY = AssetKey(["serving", "marts"])


def build_serving_asset(mart_keys: list[AssetKey]) -> AssetsDefinition:
    @asset(
        key=SERVING_KEY,
        deps=mart_keys,
        group_name="serving",
        kinds={"duckdb"},
        description=(
            "Every table of schema marts, published to a separate read-only DuckDB file (OPS_SERVING, "
            "default serving.duckdb beside the warehouse) after a build whose blocking checks passed, "
            "replaced atomically. BI tools connect here and never lock the pipeline out. Every table and "
            "column carries its dbt description as a COMMENT."
        ),
    )
    def serving_marts(context: AssetExecutionContext, duckdb: DuckDBResource, ops: OpsSettings) -> MaterializeResult:
        # The manifest the dbt assets were loaded from (ensure_manifest): the marts' descriptions.
        docs = mart_docs(json.loads(dbt_project.manifest_path.read_text()))
        with duckdb.get_connection() as conn:
            publication = publish_marts(conn, Path(ops.serving_path), context.run.run_id, docs)
        context.log.info(f"published {len(publication.tables)} marts to {publication.path}")
        return MaterializeResult(
            metadata={
                "path": str(publication.path),
                "version": publication.version,
                "sqlalchemy_url": sqlalchemy_url(publication.path),
                "tables": MetadataValue.json(publication.tables),
            }
        )

    return serving_marts
