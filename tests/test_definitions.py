"""The Definitions load, draw landing -> raw -> staging, and materialise for real."""

from dataclasses import replace
from datetime import date

import duckdb
from dagster import AssetKey, DagsterInstance

from ops_pipeline.definitions import PIPELINE_JOB, build_definitions, defs
from ops_pipeline.settings import Settings
from tests.test_ingest import EVENT_HEADER, GOOD_EVENT, ORDER_HEADER, write_csv


def test_definitions_load_with_descriptions_and_lineage():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for source in ("events", "orders", "users", "channel_spend", "kol_posts", "content"):
        assert f"landing/{source}" in keys and f"raw/{source}" in keys
    assert "staging/stg_tracking__events" in keys
    raw_events = graph.get(AssetKey(["raw", "events"]))
    assert AssetKey(["landing", "events"]) in raw_events.parent_keys
    staging_events = graph.get(AssetKey(["staging", "stg_tracking__events"]))
    assert AssetKey(["raw", "events"]) in staging_events.parent_keys
    assert staging_events.group_name == "staging"
    # the monitors are evaluated by an asset of the pipeline job, downstream of the long table
    evaluations = graph.get(AssetKey(["monitoring", "evaluations"]))
    assert AssetKey(["marts", "metrics_daily"]) in evaluations.parent_keys
    assert AssetKey(["monitoring", "evaluations"]) in defs.resolve_job_def(PIPELINE_JOB).asset_layer.selected_asset_keys
    assert {s.name for s in defs.sensors} == {
        "build_landed_files",
        "watch_landing_deadlines",
        "deliver_alerts",
        "announce_run_failures",
        "announce_failed_checks",
        "report_completed_week",
    }
    assert [s.name for s in defs.schedules] == ["daily_pipeline", "weekly_report_schedule"]
    # the weekly report: one partition per ISO week (keyed by its Monday), downstream of the marts
    report = graph.get(AssetKey(["reports", "weekly_report"]))
    assert {AssetKey(["marts", "kpi_daily"]), AssetKey(["marts", "campaign_review"])} <= report.parent_keys
    weekly = build_definitions(replace(Settings.from_env(), partition_start="2026-01-01"))
    assert weekly.resolve_job_def("weekly_report").partitions_def.get_partition_keys()[0] == "2026-01-05"
    for spec in defs.resolve_all_asset_specs():
        assert spec.description, f"{spec.key.to_user_string()} has no description"


def test_pipeline_job_runs_a_partition_range_in_one_run(tmp_path):
    landing_dir = tmp_path / "landing"
    write_csv(landing_dir / "events/2026-11-01.csv", EVENT_HEADER, [GOOD_EVENT])
    # a late event of Nov 1 landing on Nov 2, and an SDK retry of it
    late = ["e2", "2026-11-01T15:00:00Z", "page_view", "d1", "", "ios", ""]
    write_csv(landing_dir / "events/2026-11-02.csv", EVENT_HEADER, [late, late])
    for day in ("2026-11-01", "2026-11-02"):  # the backend sends orders every day, even none
        write_csv(landing_dir / f"orders/{day}.csv", ORDER_HEADER, [])
    settings = replace(
        Settings.from_env(),
        landing_dir=landing_dir,
        warehouse=tmp_path / "wh.duckdb",
        instance_dir=tmp_path / "dagster_home",
        partition_start="2026-10-01",
    )
    job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2026-11-01", "dagster/asset_partition_range_end": "2026-11-02"},
    )
    assert result.success
    runs = instance.get_runs()
    assert len(runs) == 1
    materialized = instance.get_materialized_partitions(AssetKey(["raw", "events"]))
    assert materialized == {"2026-11-01", "2026-11-02"}
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "select event_id, event_date, landing_date from staging.stg_tracking__events order by 1"
        ).fetchall()
        evaluated = conn.execute("select distinct date from monitoring.evaluations order by 1").fetchall()
    assert rows == [("e1", date(2026, 11, 1), date(2026, 11, 1)), ("e2", date(2026, 11, 1), date(2026, 11, 2))]
    # the run's dates (landing days and lookback) that marts.metrics_daily has, evaluated in the same run
    assert evaluated == [(date(2026, 11, 1),), (date(2026, 11, 2),)]
    assert instance.get_latest_materialization_event(AssetKey(["monitoring", "evaluations"])).run_id == runs[0].run_id


def test_old_dbt_run_folders_are_pruned(tmp_path):
    """Of the dbt_models-* run folders, the newest `keep` stay (by modification time); other
    folders and files of the target folder are left alone."""
    import os

    from ops_pipeline.assets.dbt import prune_run_targets

    runs = []
    for number in range(8):
        folder = tmp_path / f"dbt_models-{number:07d}-abcdef{number}"
        (folder / "compiled").mkdir(parents=True)
        (folder / "dbt.log").write_text("log")
        os.utime(folder, (1_000_000 + number, 1_000_000 + number))
        runs.append(folder)
    other = tmp_path / "other_op-0000000-aaaaaaa"
    other.mkdir()
    os.utime(other, (1, 1))
    (tmp_path / "partial_parse.msgpack").write_bytes(b"state")

    prune_run_targets(runs[-1], keep=3)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [r.name for r in runs[-3:]] + [other.name, "partial_parse.msgpack"]
    )
