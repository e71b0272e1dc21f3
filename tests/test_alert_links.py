"""An alert links to its monitor's own page in the Dagster UI: the monitor's asset check on
monitoring/evaluations, whose result in the run says what the monitor saw (metric, slice, date,
value, baseline, status). A real run of the evaluation asset on the synthetic warehouse of
tests/alerts_support (the ios tracking outage on its last day)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from statistics import median
from urllib.parse import parse_qs, unquote, urlsplit

import dagster_webserver
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    MaterializeResult,
    asset,
    instance_for_test,
    materialize,
)
from ops_pipeline.assets.monitoring import build_evaluation_asset

from ops_pipeline.alerts.run_alerts import alerts_of_run
from ops_pipeline.partitions import range_tags
from ops_pipeline.resources import build_resources
from ops_pipeline.settings import Settings
from tests.alerts_support import OUTAGE_DAY, synthetic_metrics, write_monitors, write_warehouse

DAGSTER = "http://dagster.example:3000"


@asset(key=AssetKey(["marts", "metrics_daily"]))
def metrics_daily():
    """Stands in for the dbt model; the synthetic table is already in the warehouse."""
    return MaterializeResult()


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("OPS_DAGSTER_URL", DAGSTER)
    monitors_file = write_monitors(tmp_path / "monitors.yml")
    monkeypatch.setenv("OPS_MONITORS", str(monitors_file))
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    settings = replace(Settings.from_env(), warehouse=warehouse, landing_dir=tmp_path / "landing")
    evaluations = build_evaluation_asset(monitors_file)
    with instance_for_test() as instance:
        result = materialize(
            [metrics_daily, evaluations],
            instance=instance,
            tags=range_tags(OUTAGE_DAY, OUTAGE_DAY),
            resources=build_resources(settings),
        )
        checks = {
            e.check_name: e
            for e in (
                r.dagster_event.event_specific_data
                for r in instance.all_logs(result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            )
        }
        alerts = alerts_of_run(settings, instance, result.run_id, "pipeline", success=True)
        yield evaluations, checks, alerts


def _total(metric: str) -> dict:
    frame = synthetic_metrics()
    rows = frame[(frame.metric == metric) & (frame.dimension == "all")]
    return dict(zip(rows.date, rows.value))


def _same_weekday_median(series: dict, day) -> float:
    return median(series[day - timedelta(days=7 * weeks)] for weeks in range(1, 5))


def test_the_alert_links_to_its_monitors_check_and_the_check_says_what_it_saw(run):
    evaluations, checks, alerts = run
    [alert] = alerts
    link = urlsplit(alert.link)
    assert f"{link.scheme}://{link.netloc}" == DAGSTER
    assert link.path.startswith("/assets/")
    asset_key = AssetKey([unquote(part) for part in link.path.removeprefix("/assets/").split("/")])
    query = parse_qs(link.query)
    assert query["view"] == ["checks"]
    [check_name] = query["checkDetail"]
    # the link names a check that the evaluation asset declares: the alert's monitor
    assert AssetCheckKey(asset_key, check_name) in evaluations.check_keys
    assert (asset_key, check_name) == (AssetKey(["monitoring", "evaluations"]), alert.monitor)
    assert alert.link in alert.message

    tracking = _total("tracking_completeness")
    check = checks[check_name]
    assert check.asset_key == asset_key
    assert (check.passed, check.severity, check.blocking) == (False, AssetCheckSeverity.WARN, False)
    meta = {name: value.value for name, value in check.metadata.items()}
    assert (meta["monitor"], meta["metric"], meta["slice"], meta["date"], meta["status"]) == (
        "tracking_completeness",
        "tracking_completeness",
        "all",
        OUTAGE_DAY.isoformat(),
        "alert",
    )
    assert meta["value"] == pytest.approx(tracking[OUTAGE_DAY])
    assert meta["baseline"] == pytest.approx(_same_weekday_median(tracking, OUTAGE_DAY))
    assert meta["alert_ids"] == [alert.alert_id]
    # the landing day and dbt's 3-day lookback, one total a day
    assert (meta["dates"], meta["evaluated"], meta["alerts"]) == (
        f"{OUTAGE_DAY - timedelta(days=3)}..{OUTAGE_DAY}",
        4,
        1,
    )
    assert check.description.startswith(f"alert: 埋点完整度 Tracking completeness [all] on {OUTAGE_DAY}: -")


def test_every_monitor_has_its_check_result_in_the_run(run):
    evaluations, checks, _ = run
    assert set(checks) == {key.name for key in evaluations.check_keys} == {"tracking_completeness", "dau"}
    dau = _total("dau")
    check = checks["dau"]
    meta = {name: value.value for name, value in check.metadata.items()}
    assert check.passed and check.severity == AssetCheckSeverity.WARN
    assert (meta["metric"], meta["slice"], meta["date"], meta["status"], meta["alerts"]) == (
        "dau",
        "all",
        OUTAGE_DAY.isoformat(),
        "ok",
        0,
    )
    assert meta["value"] == pytest.approx(dau[OUTAGE_DAY])
    assert meta["baseline"] == pytest.approx(_same_weekday_median(dau, OUTAGE_DAY))


def test_the_link_has_the_form_of_the_installed_dagster_uis_check_page():
    """dagster-webserver's bundle builds a check's page as /assets/<key path>?view=checks&checkDetail=<name>
    (assetDetailsPathForAssetCheck); the alert links use that form (alerts/message.py)."""
    chunks = Path(dagster_webserver.__file__).parent / "webapp" / "build" / "_next" / "static" / "chunks"
    bundle = "".join(path.read_text(encoding="utf-8", errors="replace") for path in chunks.glob("*.js"))
    assert '"/assets/".concat(e.path.map(encodeURIComponent).join("/"),"?")' in bundle
    assert '{view:"checks",checkDetail:e.name}' in bundle
