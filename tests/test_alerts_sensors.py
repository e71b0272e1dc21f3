"""The alert sensors, driven through Dagster's own sensor-testing API against a real instance."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    MaterializeResult,
    SkipReason,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    job,
    materialize,
    op,
)

from ops_pipeline.alerts.run_hook import alerts_after_run
from ops_pipeline.partitions import range_tags
from ops_pipeline.sensors.alerts import (
    failed_check_announcer,
    metric_swing_sensor,
    run_failure_announcer,
)
from tests.alerts_support import OUTAGE_DAY, FakeSlack, outbox_rows, write_monitors, write_warehouse

@asset(key=AssetKey(["marts", "metrics_daily"]))
def metrics_daily():
    """Stands in for the dbt model (unpartitioned, its window in the run's partition-range tags, as
    `ops-pipeline run` launches it): the sensor only reads the materialisation events."""
    return MaterializeResult()


@asset_check(asset=metrics_daily, blocking=True)
def unique_date_metric_dimension():
    return AssetCheckResult(passed=False, description="2 duplicate (date, metric, dimension) rows")


@op
def load_events():
    raise RuntimeError("landing folder unreadable")


@job
def nightly():
    load_events()


@pytest.fixture
def slack(monkeypatch):
    with FakeSlack() as server:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", server.webhook_url())
        monkeypatch.setenv("OPS_DAGSTER_URL", "http://dagster.example")
        yield server


@pytest.fixture
def setup(tmp_path):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    monitors = write_monitors(tmp_path / "monitors.yml")
    with instance_for_test() as instance:
        yield instance, warehouse, monitors


def _materialize(instance, with_failed_check: bool = False, tags=None):
    assets = [metrics_daily, unique_date_metric_dimension] if with_failed_check else [metrics_daily]
    tags = range_tags(OUTAGE_DAY, OUTAGE_DAY) if tags is None else tags
    materialize(assets, instance=instance, tags=tags, raise_on_error=False)


def test_metric_sensor_evaluates_materialised_dates_and_announces_once(setup, slack):
    instance, warehouse, monitors = setup
    sensor = metric_swing_sensor(warehouse, monitors)
    context = build_sensor_context(instance=instance)
    assert "delivery: 0 sent" in sensor(context).skip_message  # nothing materialised yet
    assert context.cursor is None

    _materialize(instance)
    result = sensor(context)
    assert isinstance(result, SkipReason) and "1 alert(s), 1 new" in result.skip_message
    assert context.cursor is not None
    [request] = slack.requests
    assert "Tracking completeness" in request["body"]["text"] and "ios" in request["body"]["text"]
    assert "http://dagster.example/assets/marts/metrics_daily" in request["body"]["text"]

    assert "evaluated 4 date(s)" in result.skip_message  # the landing day and dbt's 3-day lookback
    sensor(context)  # the next tick: nothing new
    sensor(build_sensor_context(instance=instance))  # a sensor reset: evaluates everything again
    _materialize(instance)  # the date is rebuilt
    assert "1 alert(s), 0 new" in sensor(context).skip_message
    _materialize(instance, tags={})  # a full build: every date is evaluated
    assert "evaluated every date: 1 alert(s), 0 new" in sensor(context).skip_message
    assert len(slack.requests) == 1
    assert [r["status"] for r in outbox_rows(warehouse)] == ["sent"]


def test_metric_sensor_skips_quietly_while_the_warehouse_is_locked(setup, slack):
    instance, warehouse, monitors = setup
    sensor = metric_swing_sensor(warehouse, monitors)
    _materialize(instance)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); "
                               "print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        context = build_sensor_context(instance=instance)
        assert "warehouse busy" in sensor(context).skip_message
        assert context.cursor is None  # the same materialisations are tried again next tick
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert "1 new" in sensor(context).skip_message
    assert len(slack.requests) == 1


def test_metric_sensor_retries_a_failed_send_on_the_next_tick(setup, slack):
    instance, warehouse, monitors = setup
    sensor = metric_swing_sensor(warehouse, monitors)
    slack.script.append((503, {}, "service_unavailable"))
    _materialize(instance)
    context = build_sensor_context(instance=instance)
    sensor(context)
    assert [r["status"] for r in outbox_rows(warehouse)] == ["pending"]
    assert "1 sent" in sensor(context).skip_message
    sensor(context)
    assert len(slack.requests) == 2
    assert [(r["status"], r["attempts"]) for r in outbox_rows(warehouse)] == [("sent", 2)]


def test_a_failed_blocking_check_is_announced_once_and_blames_the_pipeline(setup, slack):
    instance, warehouse, monitors = setup
    _materialize(instance, with_failed_check=True)
    announcer = failed_check_announcer(warehouse)
    context = build_sensor_context(instance=instance)
    assert "1 failed blocking check(s)" in announcer(context).skip_message
    announcer(context)
    announcer(build_sensor_context(instance=instance))  # reset cursor: outbox keeps it once
    check_messages = [r for r in slack.requests if "Blocking check failed" in r["body"]["text"]]
    assert len(check_messages) == 1
    assert "unique_date_metric_dimension on marts/metrics_daily" in check_messages[0]["body"]["text"]
    assert "2 duplicate" in check_messages[0]["body"]["text"]

    # the swing of that date is then put down to the pipeline, not the business or the tracking
    metric_swing_sensor(warehouse, monitors)(build_sensor_context(instance=instance))
    metric_rows = [r for r in outbox_rows(warehouse) if r["kind"] == "metric"]
    assert [r["likely_cause"] for r in metric_rows] == ["pipeline"]
    assert "unique_date_metric_dimension" in metric_rows[0]["message"]


def test_a_run_failure_is_announced_once(setup, slack):
    instance, warehouse, _ = setup
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    context = build_run_status_sensor_context(
        sensor_name="announce_run_failures", dagster_instance=instance,
        dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    sensor = run_failure_announcer(warehouse)
    sensor(context)
    sensor(context)
    [request] = slack.requests
    assert f"Run {result.run_id[:8]} of job nightly failed" in request["body"]["text"]
    assert "landing folder unreadable" in request["body"]["text"]
    assert f"http://dagster.example/runs/{result.run_id}" in request["body"]["text"]
    assert [(r["kind"], r["likely_cause"], r["status"]) for r in outbox_rows(warehouse)] == [
        ("run_failure", "pipeline", "sent")]


def test_the_cli_hook_and_the_sensors_never_announce_the_same_thing_twice(setup, slack, monkeypatch):
    instance, warehouse, monitors = setup
    monkeypatch.setenv("OPS_MONITORS", str(monitors))
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    alerts = alerts_after_run(warehouse, instance, result.run_id, "nightly", OUTAGE_DAY, OUTAGE_DAY,
                              success=False, failures=["load_events: landing folder unreadable"])
    assert sorted((a.kind, a.new, a.status) for a in alerts) == [("metric", True, "sent"),
                                                                  ("run_failure", True, "sent")]
    context = build_run_status_sensor_context(
        sensor_name="announce_run_failures", dagster_instance=instance,
        dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    run_failure_announcer(warehouse)(context)
    _materialize(instance)
    metric_swing_sensor(warehouse, monitors)(build_sensor_context(instance=instance))
    again = alerts_after_run(warehouse, instance, result.run_id, "nightly", OUTAGE_DAY, OUTAGE_DAY,
                             success=False, failures=["load_events: landing folder unreadable"])
    assert [a.new for a in again] == [False, False]
    assert len(slack.requests) == 2
