"""A tiny run of the benchmark: every stage measured, the floor, the incremental days and the fixed cost too."""

import json

from ops_pipeline.bench import BenchReport
from ops_pipeline.cli import main


def test_bench_smoke(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert main(["bench", "--events", "3000", "--days", "3", "--out", str(tmp_path / "bench")]) == 0
    report = json.loads((tmp_path / "bench" / "bench.json").read_text())
    stages = {s["name"]: s for s in report["stages"]}
    assert {"generate", "ingest", "dbt build", "publish"} <= set(stages)
    assert all(s["seconds"] > 0 and s["peak_rss_mb"] > 50 for s in stages.values())
    assert report["events"] > 1000 and report["rows"] > report["events"]
    assert report["floor_seconds"] > 0 and report["incremental_seconds"] > 0
    assert len(report["incremental_runs"]) == 2 and report["incremental_seconds"] == min(report["incremental_runs"])
    assert report["pipeline_over_floor"] == stages["dbt build"]["seconds"] / report["floor_seconds"]
    assert report["fixed_seconds"] > 0
    # at this size the full run is itself mostly fixed cost, and may take less than the fixed-cost run
    above_fixed = (
        (report["incremental_seconds"] - report["fixed_seconds"])
        / (report["pipeline_seconds"] - report["fixed_seconds"])
        if report["pipeline_seconds"] > report["fixed_seconds"]
        else None
    )
    assert report["incremental_over_full_above_fixed"] == above_fixed
    out = capsys.readouterr().out
    assert "dbt build / floor" in out and "fixed cost of a run" in out


def test_incremental_over_full_above_fixed_by_hand():
    report = BenchReport(days=90, users=1, pipeline_seconds=100.0, incremental_seconds=25.0, fixed_seconds=15.0)
    assert report.incremental_over_full_above_fixed == 10.0 / 85.0
    assert report.incremental_over_full == 0.25
    assert (
        BenchReport(days=1, users=1, pipeline_seconds=10.0, fixed_seconds=12.0).incremental_over_full_above_fixed
        is None
    )
    assert BenchReport(days=1, users=1, pipeline_seconds=10.0).incremental_over_full_above_fixed is None
