"""SLOW (about 5 minutes on 2 cores): the generator's incidents through the real pipeline.

Two generated datasets are built with `ops_pipeline.pipeline.run` and evaluated
with `evaluate_and_deliver` over every date, the function the monitoring/evaluations asset of each
run calls:

* 6,000 users (the demo size) over 133 days: 120 clean days, then the ios
  pay-tracking outage (2026-05-01..02) and a viral KOL post (2026-05-09..13).
  Its first 120 days are byte for byte those of the same world generated
  without incidents, so they are a 120-day dataset without incidents: no
  alert may fire there. The detection-quality evaluation runs on it too.
* 40,000 users over 45 days with the wechat_ads conversion drop
  (2026-02-09..11): at the demo size one channel has a few sign-ups a day,
  too few for any daily monitor to see a halving.

Deselect with `-m "not slow"`.
"""

from __future__ import annotations

import dataclasses
import filecmp
from datetime import date

import pytest

from ops_pipeline.alerts.backtest import backtest_report, format_report
from ops_pipeline.alerts.service import ALL_DATES, evaluate_and_deliver
from ops_pipeline.generator import generate
from ops_pipeline.pipeline import run
from ops_pipeline.settings import Settings

pytestmark = pytest.mark.slow

START = date(2026, 1, 1)
OUTAGE = [date(2026, 5, 1), date(2026, 5, 2)]
VIRAL = [date(2026, 5, d) for d in range(9, 14)]
CHANNEL_DROP = [date(2026, 2, 9), date(2026, 2, 10), date(2026, 2, 11)]


def _build(root, days: int, users: int, incidents: list[str]):
    manifest = generate(root / "landing", START, days, users, seed=7, incidents=incidents)
    settings = dataclasses.replace(
        Settings.from_env(),
        landing_dir=root / "landing",
        warehouse=root / "warehouse.duckdb",
        instance_dir=root / "dagster_home",
        partition_start=START.isoformat(),
        serving=root / "serving.duckdb",
    )
    outcome = run(settings, log_file=root / "run.log")
    assert outcome.success, outcome.failures
    alerts = evaluate_and_deliver(settings.warehouse, ALL_DATES, target=None)
    return settings, manifest, alerts


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_incidents")
    return _build(root, 133, 6000, ["ios_pay_tracking_outage@2026-05-01", "kol_viral@2026-05-09"])


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    root = tmp_path_factory.mktemp("channel_drop")
    return _build(root, 45, 40000, ["channel_conversion_drop"])


def _top(alert) -> str | None:
    """The slice an alert names: its own slice, or the top slice of its drill-down."""
    if alert.dimension != "all":
        return alert.dimension_value
    return alert.drill_down["top"][0]["dimension_value"] if alert.drill_down else None


def test_the_first_120_days_are_a_clean_dataset_and_raise_no_alert(demo, tmp_path):
    settings, _, alerts = demo
    clean = tmp_path / "clean"
    generate(clean, START, 133, 6000, seed=7)
    for source in ("events", "orders", "users", "channel_spend", "kol_posts", "content"):
        files = sorted(p.name for p in (clean / source).iterdir() if p.name < "2026-05-01")
        assert len(files) >= 120
        _, mismatch, errors = filecmp.cmpfiles(clean / source, settings.landing_dir / source, files, shallow=False)
        assert not mismatch and not errors, (source, mismatch[:3])
    before = [a for a in alerts if a.date < OUTAGE[0]]
    assert before == [], [a.message for a in before]


def test_the_ios_tracking_outage_says_tracking_and_names_ios(demo):
    _, manifest, alerts = demo
    outage = [a for a in alerts if a.date in OUTAGE]
    assert {a.monitor for a in outage} >= {"tracking_completeness", "funnel_pay_success"}
    assert {a.date for a in outage} == set(OUTAGE)
    for alert in outage:
        assert alert.likely_cause == "tracking", alert.message
        assert _top(alert) == "ios", alert.message
        assert "ios" in alert.message
    expected = next(i for i in manifest["incidents"] if i["name"] == "ios_pay_tracking_outage")
    assert expected["expected_cause"] == "tracking"


def test_the_viral_kol_post_is_business_driven_by_the_kol_channel(demo):
    _, _, alerts = demo
    viral = [a for a in alerts if a.date in VIRAL]
    assert viral, "the viral KOL post raised no alert"
    for alert in viral:
        assert alert.likely_cause == "business", alert.message
        assert _top(alert) == "kol", alert.message
    # nothing fires outside the incidents
    assert [a for a in alerts if a.date not in OUTAGE + VIRAL] == []


def test_detection_quality_meets_the_targets_on_clean_generated_data(demo):
    settings, _, _ = demo
    report = backtest_report(settings.warehouse, settings.landing_dir, trials=400, seed=0)
    print(format_report(report))
    assert report["recall_at_least_30"] >= 0.9
    assert report["precision"] >= 0.9
    assert report["top_slice_accuracy_at_least_30"] >= 0.9
    assert report["clean_alerts"] == 0
    assert report["seconds"] < 60


def test_the_channel_conversion_drop_is_business_on_wechat_ads(large):
    _, manifest, alerts = large
    incident = next(i for i in manifest["incidents"] if i["name"] == "channel_conversion_drop")
    assert (incident["start"], incident["end"]) == ("2026-02-09", "2026-02-11")
    during = [a for a in alerts if a.date in CHANNEL_DROP]
    assert during, "the channel drop raised no alert"
    for alert in during:
        assert alert.likely_cause == "business", alert.message
        assert _top(alert) == "wechat_ads", alert.message
    assert [a for a in alerts if a.date not in CHANNEL_DROP] == [], [a.message for a in alerts]
