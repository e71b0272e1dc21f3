"""A tiny run of the benchmark: every stage measured, the floor, the incremental day and the fixed cost too."""

import json

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
    assert report["pipeline_over_floor"] == stages["dbt build"]["seconds"] / report["floor_seconds"]
    assert report["fixed_seconds"] > 0
    assert report["incremental_over_full_above_fixed"] == (
        (report["incremental_seconds"] - report["fixed_seconds"]) / (report["pipeline_seconds"] - report["fixed_seconds"]))
    out = capsys.readouterr().out
    assert "dbt build / floor" in out and "fixed cost of a run" in out
