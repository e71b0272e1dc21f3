"""What people see: the dbt descriptions as COMMENTs of the serving database, the column types of
the dbt assets in Dagster's catalog, and the multi-model singular dbt tests as asset checks."""

import contextlib
import io
import json
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, ExecuteInProcessResult

from ops_pipeline.cli import main
from ops_pipeline.dbt_resource import dbt_project
from ops_pipeline.definitions import PIPELINE_JOB, build_definitions
from ops_pipeline.partitions import range_tags
from ops_pipeline.pipeline import landing_range
from ops_pipeline.serving import PUBLICATION_DOC, PUBLICATION_TABLE
from ops_pipeline.settings import Settings

# The singular tests that read more than one model, each attached to one of them by its config.
MULTI_MODEL_TESTS = {
    AssetCheckKey(AssetKey(["marts", "activity_daily"]), "assert_activity_daily_has_every_date"),
    AssetCheckKey(AssetKey(["marts", "kpi_daily"]), "assert_funnel_daily_adds_up_to_kpi_daily"),
    AssetCheckKey(AssetKey(["marts", "kpi_daily"]), "assert_revenue_daily_adds_up_to_kpi_daily"),
}


def small_settings(root: Path) -> Settings:
    return Settings.from_env(
        {
            "OPS_LANDING_DIR": str(root / "landing"),
            "OPS_WAREHOUSE": str(root / "warehouse.duckdb"),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "OPS_PARTITION_START": "2026-01-01",
        }
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Settings, ExecuteInProcessResult]:
    """8 generated days of 300 users, through the pipeline job: warehouse, serving copy, events."""
    settings = small_settings(tmp_path_factory.mktemp("catalog"))
    with contextlib.redirect_stdout(io.StringIO()):
        generated = main(
            ["generate", "--out", str(settings.landing_dir), "--start", "2026-09-01", "--days", "8", "--users", "300"]
        )
    assert generated == 0
    job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
    result = job.execute_in_process(
        instance=DagsterInstance.ephemeral(), tags=range_tags(*landing_range(settings, None, None))
    )
    assert result.success
    return settings, result


def mart_models() -> dict[str, dict]:
    """The dbt models of schema marts, and the review marts built in Python (dbt sources of schema marts)."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    sources = [s for s in manifest["sources"].values() if s["schema"] == "marts"]
    return {node.get("alias") or node["name"]: node for node in [*models, *sources]}


def test_every_serving_table_and_column_carries_its_dbt_description(built):
    settings, _ = built
    models = mart_models()
    with duckdb.connect(str(settings.serving_path), read_only=True) as conn:
        tables = dict(
            conn.execute("select table_name, comment from duckdb_tables() where schema_name = 'marts'").fetchall()
        )
        columns = conn.execute(
            "select table_name, column_name, comment from duckdb_columns() where schema_name = 'marts'"
        ).fetchall()
    assert set(tables) == set(models) | {PUBLICATION_TABLE}
    for table, comment in tables.items():
        expected = PUBLICATION_DOC.description if table == PUBLICATION_TABLE else models[table]["description"]
        assert expected.strip(), f"model {table} has no description in its YAML"
        assert comment == expected, table
    assert len(columns) > len(tables)
    for table, column, comment in columns:
        if table == PUBLICATION_TABLE:
            expected = PUBLICATION_DOC.columns[column]
        else:
            expected = models[table]["columns"].get(column, {}).get("description", "")
        assert expected.strip(), f"column {table}.{column} has no description in the marts' YAML"
        assert comment == expected, f"{table}.{column}"


def test_dbt_materialisations_carry_the_column_types_duckdb_has(built):
    settings, result = built
    models = {name: node for name, node in mart_models().items() if node["resource_type"] == "model"}
    materializations = {m.asset_key: m for m in result.asset_materializations_for_node("dbt_models")}
    schemas = {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        for table, model in models.items():
            expected = conn.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ? order by column_index",
                [table],
            ).fetchall()
            schema = materializations[AssetKey(["marts", table])].metadata["dagster/column_schema"].schema
            assert [(c.name, c.type) for c in schema.columns] == expected, table
            assert [c.description for c in schema.columns] == [
                model["columns"][name]["description"] for name, _ in expected
            ], table
            schemas[table] = {c.name: c.type for c in schema.columns}
    assert (schemas["kpi_daily"]["date"], schemas["kpi_daily"]["dau"]) == ("DATE", "BIGINT")


def test_multi_model_singular_tests_are_asset_checks(tmp_path):
    settings = small_settings(tmp_path)
    check_keys = build_definitions(settings).resolve_asset_graph().asset_check_keys
    assert MULTI_MODEL_TESTS - check_keys == set()


def test_multi_model_singular_tests_report_check_evaluations_not_observations(built):
    _, result = built
    evaluations = {
        event.asset_check_evaluation_data.asset_check_key: event.asset_check_evaluation_data.passed
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert {key: evaluations.get(key) for key in MULTI_MODEL_TESTS} == dict.fromkeys(MULTI_MODEL_TESTS, True)
    observed_tests = [
        event.asset_observation_data.asset_observation.metadata["unique_id"].text
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_OBSERVATION
        and "unique_id" in event.asset_observation_data.asset_observation.metadata
    ]
    assert [test for test in observed_tests if test.startswith("test.")] == []
