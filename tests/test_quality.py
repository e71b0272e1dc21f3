"""Data quality (issue #4): Great Expectations suites as Dagster asset checks.

One generated dataset goes through the pipeline job with the checks: every
check passes on it. Then each check gets its failure injected into a copy of
that clean warehouse and must fail, through the real GE path (GE's SQL data
source on DuckDB), with a message that says what and where.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    define_asset_job,
    in_process_executor,
)
from ops_pipeline.assets.checks import build_quality_checks
from ops_pipeline.assets.dbt import build_dbt_assets
from ops_pipeline.assets.ingestion import build_raw_assets, landing_specs

from ops_pipeline.partitions import daily_partitions, range_tags
from ops_pipeline.quality.params import RunWindow
from ops_pipeline.quality.report import failed_check_lines
from ops_pipeline.quality.runner import run_suites
from ops_pipeline.quality.suites import load_suites
from ops_pipeline.resources import build_resources
from ops_pipeline.settings import Settings

WEEKS = 4
USERS = 2000


@dataclass
class Clean:
    landing: Path
    warehouse: Path
    first_day: date
    last_day: date
    instance: DagsterInstance
    run_id: str
    success: bool

    @property
    def window(self) -> RunWindow:
        return RunWindow(self.first_day, self.last_day)


def quality_job(settings: Settings):
    """The pipeline job of definitions.py, with the quality checks."""
    partitions_def = daily_partitions(settings)
    raw_assets = build_raw_assets(partitions_def)
    dbt_models = build_dbt_assets()
    job = define_asset_job("pipeline", selection=AssetSelection.assets(*raw_assets, dbt_models))
    defs = Definitions(
        assets=[*landing_specs(), *raw_assets, dbt_models],
        asset_checks=build_quality_checks(),
        jobs=[job],
        resources=build_resources(settings),
        executor=in_process_executor,
    )
    return defs.resolve_job_def("pipeline")


def run_pipeline(landing: Path, warehouse: Path, first_day: date, last_day: date):
    settings = replace(Settings.from_env(), landing_dir=landing, warehouse=warehouse, partition_start="2026-01-01")
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    instance = DagsterInstance.ephemeral()
    result = quality_job(settings).execute_in_process(
        instance=instance, tags=range_tags(first_day, last_day), raise_on_error=False
    )
    return instance, result


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Clean:
    from ops_pipeline.generator import generate

    root = tmp_path_factory.mktemp("quality")
    # Whole weeks ending a few days ago, starting on a Monday: the same data every day,
    # and never in the future of the checks' clock.
    first_day = date.today() - timedelta(days=7 * WEEKS + 3)
    first_day -= timedelta(days=first_day.weekday())
    last_day = first_day + timedelta(days=7 * WEEKS)
    generate(root / "landing", first_day, (last_day - first_day).days + 1, USERS, seed=5)
    instance, result = run_pipeline(root / "landing", root / "warehouse.duckdb", first_day, last_day)
    return Clean(
        root / "landing", root / "warehouse.duckdb", first_day, last_day, instance, result.run_id, result.success
    )


def injected(clean: Clean, tmp_path: Path, *statements: str) -> Path:
    """A copy of the clean warehouse with some damage done."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(clean.warehouse, path)
    with duckdb.connect(str(path)) as conn:
        for statement in statements:
            conn.execute(statement)
    return path


def check(warehouse: Path, suite_name: str, window: RunWindow) -> dict:
    """{(asset, check): CheckResult} of one suite, run through GE."""
    suites = [s for s in load_suites() if s.name == suite_name]
    assert suites, f"no suite {suite_name}"
    return {(r.asset, r.check): r for r in run_suites(suites, warehouse, window, build_docs=False)}


def failing(results: dict) -> dict:
    return {key: r for key, r in results.items() if not r.passed}


def query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


# -- the clean demo ---------------------------------------------------------------------------


def test_every_check_passes_on_the_clean_generated_data(clean):
    assert clean.success
    records = clean.instance.all_logs(clean.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    ours = [
        r.dagster_event.event_specific_data
        for r in records
        if "summary" in (r.dagster_event.event_specific_data.metadata or {})
    ]
    expected = {(asset, name) for s in load_suites() for asset, name in s.check_keys}
    assert {(e.asset_key.to_user_string(), e.check_name) for e in ours} == expected
    assert [e for e in ours if not e.passed] == []
    assert failed_check_lines(clean.instance, clean.run_id) == []
    evaluation = next(e for e in ours if e.check_name == "events_volume")
    assert evaluation.metadata["rows_checked"].value > 0
    assert evaluation.metadata["partition_range"].value == f"{clean.first_day}..{clean.last_day}"
    assert (clean.warehouse.parent / "ge_docs" / "index.html").exists()


def test_a_failed_blocking_check_stops_the_models_and_says_where(clean, tmp_path):
    """A landing day of orders goes missing: the raw check blocks, dbt does not run."""
    landing = tmp_path / "landing"
    shutil.copytree(clean.landing, landing)
    missing_day = clean.last_day - timedelta(days=2)
    for path in (landing / "orders").glob(f"{missing_day}*"):
        path.unlink()
    instance, result = run_pipeline(landing, tmp_path / "warehouse.duckdb", missing_day, clean.last_day)
    assert not result.success
    started = {e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_START}
    assert "raw_quality_checks" in started and "dbt_models" not in started
    lines = failed_check_lines(instance, result.run_id)
    assert (
        f"BLOCKING raw/orders ingestion_complete [{missing_day}..{clean.last_day}]: "
        f"orders, {missing_day}: no file landed (every source needs a file for every day built)"
    ) in lines


# -- ETL integrity ------------------------------------------------------------------------------


def test_ingestion_complete_fails_on_a_missing_day_and_on_lost_rows(clean, tmp_path):
    day = clean.last_day - timedelta(days=3)
    file = query(
        clean.warehouse,
        f"select file from raw.ingestion_log where source = 'events' and landing_date = '{day}' order by file limit 1",
    )[0][0]
    warehouse = injected(
        clean,
        tmp_path,
        f"delete from raw.ingestion_log where source = 'content' and landing_date = '{day}'",
        f"delete from raw.content where _landing_date = '{day}'",
        f"delete from raw.quarantine where source = 'content' and landing_date = '{day}'",
        f"delete from raw.events where _file = '{file}' and _row_number <= 5",
        f"update raw.ingestion_log set rows_read = rows_read + 3 where source = 'orders' and landing_date = '{day}'",
    )
    results = failing(
        check(warehouse, "raw_ingestion.content", clean.window)
        | check(warehouse, "raw_ingestion.events", clean.window)
        | check(warehouse, "raw_ingestion.orders", clean.window)
    )
    assert set(results) == {
        ("raw/content", "ingestion_complete"),
        ("raw/events", "ingestion_complete"),
        ("raw/orders", "ingestion_complete"),
    }
    assert results[("raw/content", "ingestion_complete")].lines == [
        f"content, {day}: no file landed (every source needs a file for every day built)"
    ]
    loaded = query(warehouse, f"select rows_loaded from raw.ingestion_log where file = '{file}'")[0][0]
    assert results[("raw/events", "ingestion_complete")].lines == [
        f"events, {day}, {Path(file).name}: ingestion log says {loaded:,} rows loaded, raw.events holds {loaded - 5:,}"
    ]
    (line,) = results[("raw/orders", "ingestion_complete")].lines
    assert line.startswith(f"orders, {day}, ") and "rows read" in line and "loaded + quarantined" in line
    assert all(r.blocking for r in results.values())


def test_quarantine_share_warns_above_the_threshold(clean, tmp_path):
    day = clean.last_day - timedelta(days=1)
    warehouse = injected(
        clean,
        tmp_path,
        f"update raw.ingestion_log set rows_quarantined = rows_read // 5, rows_loaded = rows_read - rows_read // 5 "
        f"where source = 'events' and landing_date = '{day}'",
    )
    result = check(warehouse, "raw_quarantine.events", clean.window)[("raw/events", "quarantine_share")]
    assert not result.passed and not result.blocking
    assert result.lines[0].startswith(f"events quarantine share, {day}: 20.0% (")
    assert result.lines[0].endswith("rows), expected at most 5%")


def test_raw_to_staging_reconciliation_fails_on_lost_events(clean, tmp_path):
    day = clean.last_day - timedelta(days=2)
    warehouse = injected(
        clean,
        tmp_path,
        f"delete from staging.stg_tracking__events where event_id in (select event_id from "
        f"staging.stg_tracking__events where event_date = '{day}' order by event_id limit 3)",
    )
    result = check(warehouse, "staging_events_reconcile", clean.window)[
        ("staging/stg_tracking__events", "reconciles_with_raw")
    ]
    assert not result.passed and result.blocking
    (line,) = result.lines
    staged = query(warehouse, f"select count(*) from staging.stg_tracking__events where event_date = '{day}'")[0][0]
    assert line.startswith(
        f"raw -> staging events, {day}: {staged:,} rows in staging, {staged + 3:,} distinct event_ids in raw"
    )


def test_event_id_unique_after_dedupe(clean, tmp_path):
    day = clean.last_day - timedelta(days=1)
    warehouse = injected(
        clean,
        tmp_path,
        f"insert into staging.stg_tracking__events select * from staging.stg_tracking__events "
        f"where event_date = '{day}' order by event_id limit 1",
    )
    reconcile = check(warehouse, "staging_events_reconcile", clean.window)[
        ("staging/stg_tracking__events", "reconciles_with_raw")
    ]
    assert f"staging events, {day}: 2 rows share their event_id with another row after the dedupe" in reconcile.lines


def test_staging_orders_reconcile_with_raw(clean, tmp_path):
    warehouse = injected(
        clean,
        tmp_path,
        "delete from staging.stg_backend__orders where order_id = "
        "(select min(order_id) from staging.stg_backend__orders)",
    )
    result = check(warehouse, "staging_reconcile.stg_backend__orders", clean.window)[
        ("staging/stg_backend__orders", "reconciles_with_raw")
    ]
    staged, raw_keys = query(
        warehouse,
        "select (select count(*) from staging.stg_backend__orders), (select count(distinct order_id) from raw.orders)",
    )[0]
    assert result.lines[0].startswith(
        f"raw -> staging orders: {staged:,} rows in staging.stg_backend__orders, "
        f"{raw_keys:,} distinct (order_id) in raw.orders"
    )


def test_marts_reconcile_with_staging(clean, tmp_path):
    day = clean.last_day - timedelta(days=1)
    warehouse = injected(
        clean,
        tmp_path,
        f"update marts.kpi_daily set paid_gmv = paid_gmv + 100 where date = '{day}'",
        f"update marts.activity_daily set dau = dau + 1 where date = '{day}'",
    )
    results = failing(check(warehouse, "marts_reconcile", clean.window))
    assert set(results) == {
        ("marts/kpi_daily", "reconciles_with_staging"),
        ("marts/activity_daily", "reconciles_with_staging"),
    }
    (gmv_line,) = results[("marts/kpi_daily", "reconciles_with_staging")].lines
    staging_gmv = query(warehouse, f"select sum(amount) from staging.stg_backend__orders where paid_date = '{day}'")[0][
        0
    ]
    assert (
        gmv_line == f"kpi_daily paid_gmv, {day}: {staging_gmv + 100:,.2f} in the mart, {staging_gmv:,.2f} from staging"
    )
    (dau_line,) = results[("marts/activity_daily", "reconciles_with_staging")].lines
    assert dau_line.startswith(f"activity_daily dau, {day}: ") and dau_line.endswith("from staging")


def test_funnel_is_monotone(clean, tmp_path):
    """A mart invariant: the dbt test assert_funnel_persons_never_increase (blocking), not a GE suite."""
    date_, platform, channel = query(
        clean.warehouse,
        "select date, platform, channel from marts.funnel_daily "
        "where step_index = 1 order by persons desc, date limit 1",
    )[0]
    warehouse = injected(
        clean,
        tmp_path,
        f"update marts.funnel_daily set persons = persons + 10000 where date = '{date_}' "
        f"and platform = '{platform}' and channel = '{channel}' and step_index = 3",
    )
    project = Path(__file__).resolve().parents[1] / "dbt_project"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "test",
            "--select",
            "assert_funnel_persons_never_increase",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, "OPS_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 assert_funnel_persons_never_increase" in result.stdout, result.stdout[-3000:]


def test_no_mart_dates_beyond_the_last_complete_date(clean, tmp_path):
    beyond = clean.last_day + timedelta(days=5)
    warehouse = injected(
        clean,
        tmp_path,
        "insert into marts.revenue_daily (date, channel, platform, region, orders) "
        f"values ('{beyond}', 'x', 'ios', 'x', 1)",
    )
    results = failing(check(warehouse, "marts_dates", clean.window))
    assert list(results) == [("marts/revenue_daily", "no_dates_beyond_last_complete")]
    assert results[("marts/revenue_daily", "no_dates_beyond_last_complete")].lines == [
        f"revenue_daily has dates up to {beyond}, after the last complete date {clean.last_day}"
    ]


# -- tracking integrity (埋点) -------------------------------------------------------------------


def test_raw_events_contract_flags_unknown_names_future_and_too_late_events(clean, tmp_path):
    day = clean.last_day
    columns = "event_id, event_time, event_name, device_id, platform, _landing_date, _file, _row_number"
    warehouse = injected(
        clean,
        tmp_path,
        f"insert into raw.events ({columns}) values "
        f"('bad-name', timestamptz '{day} 02:00:00+00', 'bogus_event', 'd1', 'ios', '{day}', 'x.csv', 1), "
        f"('bad-future', now() + interval 3 day, 'app_open', 'd1', 'ios', '{day}', 'x.csv', 2), "
        f"('bad-late', timestamptz '{day - timedelta(days=10)} 02:00:00+00', 'app_open', 'd1', 'ios', '{day}', "
        "'x.csv', 3)",
    )
    result = check(warehouse, "raw_events", clean.window)[("raw/events", "tracking_contract")]
    assert not result.passed and not result.blocking
    lines = "\n".join(result.lines)
    assert f"raw events, landing {day}, x.csv row 1: unknown event_name 'bogus_event'" in lines
    assert f"raw events, landing {day}, event bad-future: event_time" in lines and "h in the future" in lines
    assert (
        f"raw events, landing {day}, event bad-late of {day - timedelta(days=10)}: 10 days late, "
        "beyond the 3-day lookback (never reaches the marts)"
    ) in lines


def test_tracking_shares_of_anonymous_events_and_unknown_versions(clean, tmp_path):
    day = clean.last_day - timedelta(days=1)
    warehouse = injected(
        clean,
        tmp_path,
        f"update staging.stg_tracking__events set user_id = null where event_date = '{day}' and platform = 'android'",
        "update staging.stg_tracking__events set app_version = 'unknown' "
        f"where event_date = '{day}' and platform = 'ios'",
    )
    result = check(warehouse, "staging_events_shares", clean.window)[
        ("staging/stg_tracking__events", "tracking_shares")
    ]
    android = query(
        warehouse,
        f"select count(*) from staging.stg_tracking__events where event_date = '{day}' and platform = 'android'",
    )[0][0]
    assert f"anonymous events, platform android, {day}: 100.0% of {android:,}, expected at most 75%" in result.lines
    assert any(line.startswith(f"unknown app_version, platform ios, {day}: 100.0% of ") for line in result.lines)
    assert len(result.lines) == 2


def test_an_event_going_silent_fails_the_learned_volume_range(clean, tmp_path):
    day = clean.last_day
    (event_name,) = query(
        clean.warehouse,
        f"select event_name from staging.stg_tracking__events "
        f"where event_date = '{day}' group by 1 order by count(*) desc limit 1",
    )[0]
    warehouse = injected(
        clean,
        tmp_path,
        f"delete from staging.stg_tracking__events where event_date = '{day}' and event_name = '{event_name}'",
    )
    result = check(warehouse, "staging_events_volume", clean.window)[("staging/stg_tracking__events", "events_volume")]
    assert not result.passed
    lower, upper = query(
        warehouse,
        f"""
        with history as (select event_date, count(*) as n from staging.stg_tracking__events
                         where event_name = '{event_name}' and event_date in ('{day - timedelta(days=7)}',
                               '{day - timedelta(days=14)}', '{day - timedelta(days=21)}', '{day - timedelta(days=28)}')
                         group by 1)
        select greatest(0, floor(min(n) * 0.5 - 3 * sqrt(min(n))))::bigint, ceil(max(n) * 2 + 3 * sqrt(max(n)))::bigint
        from history""",
    )[0]
    assert result.lines == [f"events volume, event_name {event_name}, {day}: 0 rows, expected {lower:,}-{upper:,}"]


def test_checks_launched_on_their_own_check_every_landing_day_built(clean, tmp_path):
    """As from the UI's "Execute checks": no partition range, so the whole warehouse."""
    from dagster import AssetCheckKey, AssetKey

    warehouse = injected(clean, tmp_path)
    settings = replace(
        Settings.from_env(), landing_dir=clean.landing, warehouse=warehouse, partition_start="2026-01-01"
    )
    job = define_asset_job(
        "dates_check",
        selection=AssetSelection.checks(
            AssetCheckKey(AssetKey(["marts", "revenue_daily"]), "no_dates_beyond_last_complete")
        ),
    )
    partitions_def = daily_partitions(settings)
    defs = Definitions(
        assets=[*build_raw_assets(partitions_def), build_dbt_assets()],
        asset_checks=build_quality_checks(),
        jobs=[job],
        resources=build_resources(settings),
    )
    result = defs.resolve_job_def("dates_check").execute_in_process(instance=DagsterInstance.ephemeral())
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "no_dates_beyond_last_complete"
    assert evaluation.metadata["partition_range"].value == f"{clean.first_day}..{clean.last_day}"
