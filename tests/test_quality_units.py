"""Data quality, the parts: the GE path on DuckDB, the suite files, learned ranges, report lines."""

import string
from datetime import date, timedelta
from types import SimpleNamespace

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey, JsonMetadataValue, TextMetadataValue
from ops_pipeline.assets.checks import build_quality_checks

from ops_pipeline.quality import engine
from ops_pipeline.quality.learned import volume_ranges_sql
from ops_pipeline.quality.params import RunWindow, SqlFormatter, runtime_params, sql_literal
from ops_pipeline.quality.report import check_lines
from ops_pipeline.quality.suites import Suite, load_suites

WINDOW = RunWindow(date(2026, 11, 1), date(2026, 11, 3), lookback_days=3)


def _validate(warehouse, connection_kwargs):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(
        name="wh", connection_string=engine.connection_string(warehouse), kwargs=connection_kwargs
    )
    batch = (
        source.add_query_asset(name="t", query="select * from shop.orders")
        .add_batch_definition_whole_table("all")
        .get_batch()
    )
    result = batch.validate(gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
    for sql_engine in (source.get_engine(), source.get_execution_engine().engine):
        sql_engine.dispose()
    return result


def test_an_expectation_passes_on_good_data_and_fails_on_bad_data_through_ge_on_duckdb(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema shop; create table shop.orders as select 1.0 * range as amount from range(50)")
    good = _validate(warehouse, engine.engine_kwargs())
    assert good.success and good.result["element_count"] == 50 and good.result["unexpected_count"] == 0
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("insert into shop.orders values (-5.0), (-1.0)")
    bad = _validate(warehouse, engine.engine_kwargs())
    assert not bad.success and bad.result["unexpected_count"] == 2
    assert sorted(bad.result["partial_unexpected_list"]) == [-5.0, -1.0]


def test_without_the_buffering_hook_ge_cannot_read_duckdb_results(tmp_path):
    """The known fact behind engine.py: GE reads rows after closing the connection."""
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema shop; create table shop.orders as select 1.0 * range as amount from range(50)")
    plain = {key: value for key, value in engine.engine_kwargs().items() if key not in ("plugins", "poolclass")}
    result = _validate(warehouse, plain)
    assert not result.success and result.result == {}
    assert any("list index out of range" in str(info) for info in result.exception_info.values())


def test_every_suite_loads_and_names_real_ge_expectations_params_and_columns():
    import great_expectations as gx

    suites = load_suites()
    assert len({(asset, check) for s in suites for asset, check in s.check_keys}) >= 30
    for suite in suites:
        params = suite.parameters(WINDOW)
        sql = suite.render_batch(WINDOW)
        assert sql.lower().startswith("select"), suite.name
        for expectation in suite.expectations:
            assert hasattr(gx.expectations, expectation.class_name), expectation.type
            for value in expectation.kwargs.values():
                if isinstance(value, str) and value.startswith("$"):
                    assert value[1:] in params, f"{suite.name}: {value}"
            # a message may only use what a failing row or the table result carries
            kwargs = expectation.kwargs
            known = set(params) | set(suite.where) | {kwargs.get(k) for k in ("column", "column_A", "column_B")}
            known |= {"observed", "missing", "unexpected"}
            fields = {name for _, name, _, _ in string.Formatter().parse(expectation.message) if name}
            assert fields <= known, f"{suite.name}: {fields - known}"


def test_checks_are_blocking_where_the_marts_would_be_wrong():
    specs = {
        (key.asset_key.to_user_string(), key.name): spec
        for checks in build_quality_checks()
        for key, spec in checks.check_specs_by_output_name.items()
        for key in [spec.key]
    }
    blocking = {key for key, spec in specs.items() if spec.blocking}
    for source in ("events", "orders", "users", "channel_spend", "kol_posts", "content"):
        assert (f"raw/{source}", "ingestion_complete") in blocking
        assert (f"raw/{source}", "quarantine_share") in set(specs) - blocking
    assert ("staging/stg_tracking__events", "reconciles_with_raw") in blocking
    assert ("marts/kpi_daily", "reconciles_with_staging") in blocking
    assert ("marts/funnel_daily", "no_dates_beyond_last_complete") in blocking
    for warning in ("tracking_shares", "events_volume", "tracking_contract"):
        assert ("staging/stg_tracking__events", warning) in set(specs) - blocking


def test_learned_ranges_judge_a_silent_platform_and_skip_what_has_no_history(tmp_path):
    start = date(2026, 11, 1)
    with duckdb.connect() as conn:
        conn.execute("create table events (event_date date, platform varchar)")
        for offset in range(-28, 1):
            day = start + timedelta(days=offset)
            rows = [("ios", 0 if offset == 0 else 100), ("android", 200), ("web", 150 if offset > -10 else 0)]
            for platform, count in rows:
                conn.execute("insert into events select ?, ? from range(?)", [day, platform, count])
        params = {
            **runtime_params(RunWindow(start, start), {}),
            "table": "events",
            "date_column": "event_date",
            "dimensions": ["platform"],
            "history_weeks": 4,
            "min_history_weeks": 2,
            "drop_tolerance": 0.5,
            "rise_tolerance": 1.0,
            "noise_sigmas": 3,
            "min_rows": 20,
        }
        rows = {r[2]: r for r in conn.execute(volume_ranges_sql(params)).fetchall()}
    _, _, _, ios_rows, history_days, _, _, lower, upper = rows["ios"]
    assert (ios_rows, history_days, lower, upper) == (0, 4, 20, 230)  # 100 * 0.5 - 30, 100 * 2 + 30
    assert rows["android"][3] == 200 and rows["android"][7] <= 200 <= rows["android"][8]
    assert rows["web"][4:8] == (4, 0, 150, 0)  # a slice that was silent before may be silent again
    with duckdb.connect() as conn:
        conn.execute("create table events (event_date date, platform varchar)")
        conn.execute("insert into events select ?, 'ios' from range(100)", [start - timedelta(days=7)])
        conn.execute("insert into events select ?, 'ios' from range(100)", [start])
        ((_, _, _, _, history_days, _, _, lower, upper),) = conn.execute(volume_ranges_sql(params)).fetchall()
    assert history_days == 1 and lower is None and upper is None  # one week of history: not judged


def test_sql_rendering_quotes_values_and_checks_names():
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(["a", "b"]) == "('a', 'b')" and sql_literal([]) == "(null)"
    assert sql_literal(date(2026, 11, 1)) == "date '2026-11-01'"
    assert (
        SqlFormatter().format("select * from raw.{t:name} where d = {d}", t="events", d=date(2026, 1, 2))
        == "select * from raw.events where d = date '2026-01-02'"
    )
    with pytest.raises(ValueError):
        SqlFormatter().format("select * from raw.{t:name}", t="events; drop table x")
    assert WINDOW.window_start == date(2026, 10, 29) and WINDOW.label == "2026-11-01..2026-11-03"


def test_check_lines_say_severity_asset_check_partitions_and_what_failed():
    def evaluation(passed, severity, blocking, failures):
        return SimpleNamespace(
            passed=passed,
            severity=severity,
            blocking=blocking,
            asset_key=AssetKey(["staging", "stg_tracking__events"]),
            check_name="events_volume",
            partition=None,
            description="first failure",
            metadata={
                "partition_range": TextMetadataValue("2026-11-01..2026-11-03"),
                "failures": JsonMetadataValue(failures),
            },
        )

    lines = check_lines(
        [
            evaluation(True, AssetCheckSeverity.WARN, False, []),
            evaluation(
                False,
                AssetCheckSeverity.WARN,
                False,
                ["events volume, platform ios, 2026-11-03: 0 rows, expected 9,800-12,400"],
            ),
            evaluation(False, AssetCheckSeverity.ERROR, True, [f"line {n}" for n in range(12)]),
        ]
    )
    assert lines[0] == (
        "WARNING staging/stg_tracking__events events_volume [2026-11-01..2026-11-03]: "
        "events volume, platform ios, 2026-11-03: 0 rows, expected 9,800-12,400"
    )
    assert lines[1].startswith("BLOCKING staging/stg_tracking__events events_volume [2026-11-01..2026-11-03]: line 0")
    assert len(lines) == 1 + 10 + 1 and lines[-1].endswith("... and 2 more (Dagster UI, check metadata)")


def test_a_suite_that_cannot_run_fails_its_checks_and_says_why(tmp_path):
    from ops_pipeline.quality.runner import run_suites

    warehouse = tmp_path / "wh.duckdb"
    duckdb.connect(str(warehouse)).close()
    (suite,) = [s for s in load_suites() if s.name == "staging_events_reconcile"]
    (result,) = run_suites([suite], warehouse, WINDOW, build_docs=False)
    assert not result.passed and result.blocking
    assert result.lines[0].startswith("staging_events_reconcile: could not be evaluated: ")
    assert "events" in result.lines[0]


def test_suite_check_keys_follow_expectation_routing():
    suite = next(s for s in load_suites() if s.name == "marts_reconcile")
    assert isinstance(suite, Suite)
    assert suite.check_keys == [
        ("marts/revenue_daily", "reconciles_with_staging"),
        ("marts/activity_daily", "reconciles_with_staging"),
        ("marts/kpi_daily", "reconciles_with_staging"),
        ("marts/metrics_daily", "reconciles_with_staging"),
    ]
