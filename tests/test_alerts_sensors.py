"""The one alert path: the monitoring/evaluations asset evaluates in every run, the sensors deliver
and announce. Real materialisations on a real instance, the sensors through Dagster's testing API."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import duckdb
import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    MaterializeResult,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    job,
    materialize,
    op,
)
from ops_pipeline.assets import monitoring
from ops_pipeline.assets.monitoring import build_evaluation_asset
from ops_pipeline.sensors.alerts import delivery_sensor, failed_check_announcer, run_failure_announcer

from ops_pipeline.alerts.run_alerts import alerts_of_run, evaluation_metadata
from ops_pipeline.partitions import range_tags
from ops_pipeline.resources import build_resources
from ops_pipeline.settings import Settings
from tests.alerts_support import OUTAGE_DAY, FakeSlack, outbox_rows, write_monitors, write_warehouse

evaluations = build_evaluation_asset()


@asset(key=AssetKey(["marts", "metrics_daily"]))
def metrics_daily():
    """Stands in for the dbt model (unpartitioned, its window in the run's partition-range tags, as
    `ops-pipeline run` launches it); the synthetic table is already in the warehouse."""
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
def setup(tmp_path, slack, monkeypatch):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("OPS_MONITORS", str(write_monitors(tmp_path / "monitors.yml")))
    settings = replace(Settings.from_env(), warehouse=warehouse, landing_dir=tmp_path / "landing")
    with instance_for_test() as instance:
        yield instance, settings


def _materialize(instance, settings, with_failed_check: bool = False, tags=None):
    assets = [metrics_daily, evaluations] + ([unique_date_metric_dimension] if with_failed_check else [])
    tags = range_tags(OUTAGE_DAY, OUTAGE_DAY) if tags is None else tags
    return materialize(assets, instance=instance, tags=tags, resources=build_resources(settings), raise_on_error=False)


def _evaluated(instance, result) -> dict:
    return evaluation_metadata(instance, result.run_id)


def _evaluation_count(settings) -> int:
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        return conn.execute("select count(*) from monitoring.evaluations").fetchone()[0]


def test_the_pipeline_job_evaluates_the_dates_it_rebuilt_and_announces_once(setup, slack):
    instance, settings = setup
    first = _materialize(instance, settings)
    assert first.success
    meta = _evaluated(instance, first)
    # the landing day and dbt's 3-day lookback
    lookback_start = OUTAGE_DAY - timedelta(days=3)
    assert (meta["dates"], meta["alerts"], meta["new_alerts"]) == (f"{lookback_start} .. {OUTAGE_DAY}", 1, 1)
    assert _evaluation_count(settings) == 2 * 4  # 2 monitors x 4 dates, fired or not
    [request] = slack.requests  # delivered by the run, at once
    assert "Tracking completeness" in request["body"]["text"] and "ios" in request["body"]["text"]
    assert (
        "http://dagster.example/assets/monitoring/evaluations?view=checks&checkDetail=tracking_completeness"
        in request["body"]["text"]
    )

    assert (
        "delivery: sent 0, pending 0" in delivery_sensor(settings)(build_sensor_context(instance=instance)).skip_message
    )
    again = _materialize(instance, settings)  # the date is rebuilt
    assert (_evaluated(instance, again)["alerts"], _evaluated(instance, again)["new_alerts"]) == (1, 0)
    full = _materialize(instance, settings, tags={})  # a full build: every date is evaluated
    assert (_evaluated(instance, full)["dates"], _evaluated(instance, full)["new_alerts"]) == ("every date", 0)
    assert _evaluation_count(settings) == 2 * 56
    assert len(slack.requests) == 1
    assert [r["status"] for r in outbox_rows(settings.warehouse)] == ["sent"]


def test_a_locked_warehouse_fails_the_evaluation_and_a_re_run_catches_up(setup, slack, monkeypatch):
    instance, settings = setup
    monkeypatch.setattr(monitoring, "WAIT_FOR_LOCK_SECONDS", 0.5)
    with _locked(settings.warehouse):
        result = _materialize(instance, settings)
        assert not result.success and _evaluated(instance, result) is None
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "locked by another process" in failure.step_failure_data.user_failure_data.description
        assert "warehouse busy" in delivery_sensor(settings)(build_sensor_context(instance=instance)).skip_message
    assert _evaluated(instance, _materialize(instance, settings))["new_alerts"] == 1
    assert len(slack.requests) == 1


def test_the_delivery_sensor_skips_quietly_while_the_warehouse_is_locked(setup, slack):
    instance, settings = setup
    slack.script.append((503, {}, "service_unavailable"))
    _materialize(instance, settings)
    assert [r["status"] for r in outbox_rows(settings.warehouse)] == ["pending"]
    sensor = delivery_sensor(settings)
    with _locked(settings.warehouse):
        assert "warehouse busy" in sensor(build_sensor_context(instance=instance)).skip_message
    assert "sent 1, pending 0" in sensor(build_sensor_context(instance=instance)).skip_message
    assert len(slack.requests) == 2


def test_the_delivery_sensor_retries_a_failed_send_on_the_next_tick(setup, slack):
    instance, settings = setup
    slack.script.append((503, {}, "service_unavailable"))
    _materialize(instance, settings)
    assert [r["status"] for r in outbox_rows(settings.warehouse)] == ["pending"]
    sensor = delivery_sensor(settings)
    context = build_sensor_context(instance=instance)
    assert "sent 1, pending 0" in sensor(context).skip_message
    sensor(context)
    assert len(slack.requests) == 2
    assert [(r["status"], r["attempts"]) for r in outbox_rows(settings.warehouse)] == [("sent", 2)]


def test_a_failed_blocking_check_is_announced_once_and_holds_the_evaluation_back(setup, slack):
    instance, settings = setup
    result = _materialize(instance, settings, with_failed_check=True)
    # Dagster does not run what is downstream of a failed blocking check: no swing is judged on it
    assert not result.success and _evaluated(instance, result) is None
    announcer = failed_check_announcer(settings)
    context = build_sensor_context(instance=instance)
    assert "1 failed blocking check(s)" in announcer(context).skip_message
    announcer(context)
    announcer(build_sensor_context(instance=instance))  # reset cursor: outbox keeps it once
    [check_message] = [r for r in slack.requests if "Blocking check failed" in r["body"]["text"]]
    assert "unique_date_metric_dimension on marts/metrics_daily" in check_message["body"]["text"]
    assert "2 duplicate" in check_message["body"]["text"]
    assert [r["kind"] for r in outbox_rows(settings.warehouse)] == ["check_failure"]


def test_a_run_failure_is_announced_once(setup, slack):
    instance, settings = setup
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    context = build_run_status_sensor_context(
        sensor_name="announce_run_failures",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    sensor = run_failure_announcer(settings)
    sensor(context)
    sensor(context)
    [request] = slack.requests
    assert f"Run {result.run_id[:8]} of job nightly failed" in request["body"]["text"]
    assert "landing folder unreadable" in request["body"]["text"]
    assert f"http://dagster.example/runs/{result.run_id}" in request["body"]["text"]
    assert [(r["kind"], r["likely_cause"], r["status"]) for r in outbox_rows(settings.warehouse)] == [
        ("run_failure", "pipeline", "sent")
    ]


def test_the_cli_report_and_the_sensors_never_announce_the_same_thing_twice(setup, slack):
    instance, settings = setup
    failed = nightly.execute_in_process(instance=instance, raise_on_error=False)
    alerts = alerts_of_run(
        settings, instance, failed.run_id, "nightly", success=False, failures=["load_events: landing folder unreadable"]
    )
    assert [(a.kind, a.new, a.status) for a in alerts] == [("run_failure", True, "sent")]
    built = _materialize(instance, settings)
    alerts = alerts_of_run(settings, instance, built.run_id, "pipeline", success=True)
    assert [(a.kind, a.monitor, a.new, a.status) for a in alerts] == [("metric", "tracking_completeness", True, "sent")]
    context = build_run_status_sensor_context(
        sensor_name="announce_run_failures",
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
        dagster_event=failed.get_run_failure_event(),
    ).for_run_failure()
    run_failure_announcer(settings)(context)
    delivery_sensor(settings)(build_sensor_context(instance=instance))
    rebuilt = _materialize(instance, settings)
    again = alerts_of_run(
        settings, instance, failed.run_id, "nightly", success=False, failures=["load_events: landing folder unreadable"]
    )
    again += alerts_of_run(settings, instance, rebuilt.run_id, "pipeline", success=True)
    assert [(a.kind, a.new) for a in again] == [("run_failure", False), ("metric", False)]
    assert len(slack.requests) == 2


class _locked:
    """Another process holds the warehouse (a pipeline run writing, say) while the block runs."""

    def __init__(self, warehouse):
        self.warehouse = warehouse

    def __enter__(self):
        self.holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import duckdb, sys; c = duckdb.connect({str(self.warehouse)!r}); "
                "print('locked', flush=True); sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc):
        self.holder.stdin.close()
        self.holder.wait(timeout=30)
