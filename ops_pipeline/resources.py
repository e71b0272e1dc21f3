"""Dagster resources, configured from Settings (which reads the environment)."""

from __future__ import annotations

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from ops_pipeline.dbt_project import dbt_resource
from ops_pipeline.settings import DUCKDB_MEMORY_LIMIT, Settings


class OpsSettings(ConfigurableResource):
    """Where the landing files are, which time zone business days use, where BI reads."""

    landing_dir: str
    timezone: str
    serving_path: str


def build_resources(settings: Settings) -> dict:
    return {
        "duckdb": DuckDBResource(
            database=str(settings.warehouse), connection_config={"memory_limit": DUCKDB_MEMORY_LIMIT}
        ),
        "dbt": dbt_resource(),
        "ops": OpsSettings(
            landing_dir=str(settings.landing_dir),
            timezone=settings.timezone,
            serving_path=str(settings.serving_path),
        ),
    }
