"""Issue 17, the planning sources (campaigns, targets, experiments) and the exposure event at
ingestion: good rows load, each contract break is quarantined with its reason, and counts reconcile.
Real files, a real DuckDB warehouse; the reasons expected are written out by hand."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from ops_pipeline import landing, warehouse
from ops_pipeline.ingest import ingest_range

ZONE = "Asia/Shanghai"
DAY = date(2026, 11, 1)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def ingest(tmp_path: Path, source: str, header: list[str], rows: list[list[str]]) -> tuple[list, dict]:
    landing_dir = tmp_path / "landing"
    write_csv(landing_dir / source / f"{DAY}.csv", header, rows)
    conn = warehouse.connect(tmp_path / "w.duckdb")
    warehouse.ensure_raw_schema(conn)
    files = landing.scan(landing_dir, source).by_source_day().get(source, {})
    [day] = ingest_range(conn, source, DAY, DAY, files, timezone_name=ZONE, pii_salt="s")
    assert day.error is None and day.rows_read == len(rows) == day.rows_loaded + day.rows_quarantined
    loaded = [r[0] for r in conn.execute(f"select {header[0]} from raw.{source} order by 1").fetchall()]
    reasons = dict(
        conn.execute("select row_number, reason from raw.quarantine where source = ? order by 1", [source]).fetchall()
    )
    conn.close()
    return loaded, reasons


def test_campaigns_bad_rows_are_quarantined_with_their_reason(tmp_path):
    header = ["campaign_id", "name", "start_at", "end_at", "cost", "target_metric", "target_value", "channels",
              "platforms", "regions"]  # fmt: skip
    rows = [
        ["c_ok", "双十一预热", "2026-11-01", "2026-11-08", "5000", "paid_gmv", "90000", "douyin_ads", "", ""],
        ["c_back", "倒序", "2026-11-08", "2026-11-01", "", "", "", "", "", ""],
        ["c_metric", "未知指标", "2026-11-01", "2026-11-08", "", "likes_total", "10", "", "", ""],
        ["c_two", "两个维度", "2026-11-01", "2026-11-08", "", "", "", "douyin_ads", "ios", ""],
        ["c_platform", "平台", "2026-11-01", "2026-11-08", "", "", "", "", "ios,harmony", ""],
        ["c_cost", "负成本", "2026-11-01", "2026-11-08", "-1", "", "", "", "", ""],
        ["c_value", "无指标", "2026-11-01", "2026-11-08", "", "", "100", "", "", ""],
    ]
    loaded, reasons = ingest(tmp_path, "campaigns", header, rows)
    assert loaded == ["c_ok"]
    assert reasons[2].startswith("end_at 2026-11-01 is not after start_at 2026-11-08")
    assert reasons[3] == "unknown target_metric: likes_total"
    assert reasons[4].startswith("scope in more than one of channels, platforms, regions")
    assert reasons[5] == "unknown platform in platforms: ios,harmony"
    assert reasons[6] == "negative cost: -1"
    assert reasons[7] == "target_value without target_metric"


def test_targets_bad_rows_are_quarantined_with_their_reason(tmp_path):
    header = ["period_start", "period_end", "metric", "dimension", "dimension_value", "target"]
    rows = [
        ["2026-11-01", "2026-11-30", "paid_gmv", "", "", "3000000"],
        ["2026-11-01", "2026-11-30", "new_users", "channel", "douyin_ads", "800"],
        ["2026-11-30", "2026-11-01", "paid_gmv", "", "", "1"],
        ["2026-11-01", "2026-11-30", "happiness", "", "", "1"],
        ["2026-11-01", "2026-11-30", "paid_gmv", "channel", "", "1"],
        ["2026-11-01", "2026-11-30", "paid_gmv", "device_model", "iphone", "1"],
    ]
    loaded, reasons = ingest(tmp_path, "targets", header, rows)
    assert len(loaded) == 2
    assert reasons == {
        3: "period_end 2026-11-01 before period_start 2026-11-30",
        4: "unknown metric: happiness",
        5: "dimension and dimension_value must be given together",
        6: "metric paid_gmv has no slice by device_model",
    }


def test_experiments_bad_rows_are_quarantined_with_their_reason(tmp_path):
    header = ["experiment_id", "start_at", "end_at", "variants", "weights", "primary_metric"]
    rows = [
        ["x_ok", "2026-11-01", "2026-11-15", "control,v2", "0.5,0.5", "pay_conversion"],
        ["x_default", "2026-11-01", "2026-11-15", "control,b,c", "", ""],
        ["x_weights", "2026-11-01", "2026-11-15", "control,v2", "0.5,0.3,0.2", ""],
        ["x_one", "2026-11-01", "2026-11-15", "control", "", ""],
        ["x_neg", "2026-11-01", "2026-11-15", "control,v2", "1,-1", ""],
        ["x_metric", "2026-11-01", "2026-11-15", "control,v2", "", "likes"],
    ]
    loaded, reasons = ingest(tmp_path, "experiments", header, rows)
    assert loaded == ["x_default", "x_ok"]
    assert reasons == {
        3: "weights 0.5,0.3,0.2 do not match the variants control,v2",
        4: "variants must be two or more distinct names: control",
        5: "weights must be positive numbers: 1,-1",
        6: "unknown primary_metric: likes",
    }


def test_an_exposure_without_its_experiment_is_quarantined(tmp_path):
    header = ["event_id", "event_time", "event_name", "device_id", "platform", "properties"]
    good = json.dumps({"experiment_id": "x1", "variant": "v2"})
    rows = [
        ["e1", "2026-11-01T02:00:00Z", "experiment_exposure", "d1", "ios", good],
        ["e2", "2026-11-01T02:00:00Z", "experiment_exposure", "d2", "ios", json.dumps({"variant": "v2"})],
        ["e3", "2026-11-01T02:00:00Z", "experiment_exposure", "d3", "ios", ""],
        ["e4", "2026-11-01T02:00:00Z", "app_open", "d4", "ios", ""],
    ]
    loaded, reasons = ingest(tmp_path, "events", header, rows)
    assert loaded == ["e1", "e4"]
    assert reasons == {
        2: "experiment_exposure without experiment_id in properties",
        3: "experiment_exposure without experiment_id in properties; experiment_exposure without variant in properties",
    }
