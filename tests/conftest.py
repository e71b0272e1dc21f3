"""Shared fixtures: one small generated dataset run end to end through the CLI."""

import contextlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

GENERATED_START = date(2026, 9, 1)
GENERATED_DAYS = 21
GENERATED_USERS = 1500


@dataclass
class CliRun:
    landing: Path
    warehouse: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory, monkeypatch_session) -> CliRun:
    """`ops-pipeline generate` then `ops-pipeline run`, exactly as a user types them."""
    from ops_pipeline.cli import main

    root = tmp_path_factory.mktemp("e2e")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    monkeypatch_session.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch_session.setenv("OPS_PARTITION_START", "2026-01-01")
    assert (
        main(
            [
                "generate",
                "--out",
                str(landing),
                "--start",
                GENERATED_START.isoformat(),
                "--days",
                str(GENERATED_DAYS),
                "--users",
                str(GENERATED_USERS),
                "--seed",
                "11",
            ]
        )
        == 0
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exit_code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse)])
    return CliRun(landing, warehouse, exit_code, output.getvalue())


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
