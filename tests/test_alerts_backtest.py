"""The detection-quality backtest's mechanics, on the small synthetic warehouse (fast).

Its figures on generated data are checked in test_alerts_generated_slow.py."""

from __future__ import annotations

from ops_pipeline.alerts.backtest import backtest_detection, format_report
from ops_pipeline.alerts.series import MetricStore
from ops_pipeline.alerts.service import metrics_frame
from tests.alerts_support import OUTAGE_DAY, monitors, synthetic_metrics, write_warehouse


def test_injected_swings_are_found_and_attributed_on_clean_series(tmp_path):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", synthetic_metrics(outage=False))
    report = backtest_detection(metrics_frame(warehouse), monitors(), trials=150, seed=3)
    assert report["trials"] == 150
    assert report["recall_at_least_30"] == 1.0
    assert report["recall_by_swing"]["10%-20%"] < report["recall_by_swing"]["30%-50%"]
    assert report["precision"] == 1.0 and report["clean_alerts"] == 0
    assert report["top_slice_accuracy"] >= 0.95
    assert report["meets_targets"]
    assert "recall for swings >= 30%: 100%" in format_report(report)


def test_the_store_injects_without_touching_the_clean_data():
    store = MetricStore.from_frame(synthetic_metrics(outage=False))
    before = store.series("dau")[OUTAGE_DAY]
    injected = store.with_points({("dau", "all", "all"): {OUTAGE_DAY: (1.0, None, None)}})
    assert injected.series("dau")[OUTAGE_DAY] == 1.0
    assert store.series("dau")[OUTAGE_DAY] == before


def test_incident_dates_are_left_out(tmp_path):
    frame = synthetic_metrics(outage=True)
    with_outage = backtest_detection(frame, monitors(), trials=20, seed=1)
    assert with_outage["clean_alerts"] == 1  # the outage day counts as a false alarm on "clean" data
    without = backtest_detection(frame, monitors(), trials=20, seed=1, exclude_dates=[OUTAGE_DAY])
    assert without["clean_alerts"] == 0
