"""What people see of the data-quality checks: the Data Docs page, opened offline in a real
headless browser, and the metadata of the Dagster check results (which table, which days,
which slice failed). One small generated dataset through `ops-pipeline run`, with the ios
events of one landing day made anonymous, so that tracking_shares warns for that day and
platform."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterEventType, DagsterInstance

from ops_pipeline.quality.suites import load_suites
from ops_pipeline.settings import lookback_days
from tests.system_packages import command

START = date(2026, 9, 7)
DAYS = 8
USERS = 2000  # about 500 ios events a day: tracking_shares judges slices of 200 and more
ANONYMOUS_DAY = START + timedelta(days=3)
LAST_DAY = START + timedelta(days=DAYS - 1)


@dataclass
class Run:
    warehouse: Path
    docs: Path
    checks: list  # AssetCheckEvaluation of the Great Expectations checks


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    from ops_pipeline.cli import main
    from ops_pipeline.generator import generate

    root = tmp_path_factory.mktemp("data_docs")
    landing, warehouse, home = root / "landing", root / "warehouse.duckdb", root / "dagster_home"
    generate(landing, START, DAYS, USERS, seed=3)
    path = landing / "events" / f"{ANONYMOUS_DAY}.csv"
    events = pd.read_csv(path, dtype=str, keep_default_na=False)
    column = {name.lower(): name for name in events.columns}  # the generator varies the header's case
    events.loc[events[column["platform"]].str.lower() == "ios", column["user_id"]] = ""
    events.to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    instance = DagsterInstance.from_config(str(home))
    # the pipeline run (the weekly report of the week it completed runs after it)
    (dagster_run,) = [r for r in instance.get_runs() if r.job_name == "pipeline"]
    records = instance.all_logs(dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    checks = [r.dagster_event.event_specific_data for r in records]
    return Run(warehouse, root / "ge_docs", [c for c in checks if "summary" in (c.metadata or {})])


def _meta(evaluation) -> dict:
    return {name: value.value for name, value in evaluation.metadata.items()}


def _check(run: Run, asset: str, name: str):
    [found] = [c for c in run.checks if c.asset_key.to_user_string() == asset and c.check_name == name]
    return found


def _anonymous_slices(warehouse: Path) -> list[dict]:
    """Dates and platforms of the run with 200 events or more, more than 75% of them anonymous."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select event_date, platform from staging.stg_tracking__events group by all "
            "having count(*) >= 200 and count(*) filter (where user_id is null) > 0.75 * count(*) order by all"
        ).fetchall()
    return [{"event_date": day.isoformat(), "platform": platform} for day, platform in rows]


def test_check_results_say_which_table_days_and_slice_they_checked(run):
    landing_days = f"{START}..{LAST_DAY}"
    recomputed = f"{START - timedelta(days=lookback_days())}..{LAST_DAY}"
    for evaluation in run.checks:
        meta = _meta(evaluation)
        table = evaluation.asset_key.to_user_string().replace("/", ".")
        assert meta["table"] == table and meta["partition_range"] == landing_days
        assert table in evaluation.description and f"landing days {landing_days}" in evaluation.description
    assert _meta(_check(run, "raw/orders", "ingestion_complete"))["dates_checked"] == landing_days
    assert _meta(_check(run, "staging/stg_tracking__events", "reconciles_with_raw"))["dates_checked"] == recomputed
    assert _meta(_check(run, "marts/kpi_daily", "reconciles_with_staging"))["dates_checked"] == recomputed
    assert _meta(_check(run, "staging/stg_backend__orders", "reconciles_with_raw"))["dates_checked"] == "all dates"

    shares = _check(run, "staging/stg_tracking__events", "tracking_shares")
    expected = _anonymous_slices(run.warehouse)
    assert expected == [{"event_date": ANONYMOUS_DAY.isoformat(), "platform": "ios"}]
    assert not shares.passed
    assert _meta(shares)["failed_slices"] == expected
    assert shares.description.startswith(f"anonymous events, platform ios, {ANONYMOUS_DAY}: ")
    assert "staging.stg_tracking__events" in shares.description
    # the other checks passed
    assert [c.check_name for c in run.checks if not c.passed] == ["tracking_shares"]


class _Dom(HTMLParser):
    """The suites of the rendered page: {suite: {"result": ..., "rows": [(expectation, result, where)]}}."""

    def __init__(self):
        super().__init__()
        self.suites: dict[str, dict] = {}
        self.suite = self.row = None
        self.cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-suite" in attrs:
            self.suite = attrs["data-suite"]
            self.suites[self.suite] = {"result": attrs["data-result"], "rows": []}
        elif tag == "tr" and "data-expectation" in attrs and self.suite:
            self.row, self.cells = attrs, []
        elif tag == "td" and self.row is not None:
            self.cells.append("")

    def handle_data(self, data):
        if self.row is not None and self.cells:
            self.cells[-1] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.suites[self.suite]["rows"].append(
                (self.row["data-expectation"], self.row["data-result"], self.cells[0], self.cells[-1])
            )
            self.row = None
        elif tag == "section":
            self.suite = None


def test_the_data_docs_page_renders_offline_in_a_browser(run):
    browser = command("chromium", "chromium-headless-shell", "google-chrome", package="chromium")
    index = run.docs / "index.html"
    html = index.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            # no host resolves: nothing can load from a network
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--dump-dom",
            index.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)

    suites = {suite.name: suite for suite in load_suites()}
    assert set(dom.suites) == set(suites)
    for name, suite in suites.items():
        rows = dom.suites[name]["rows"]
        assert [(e, t) for e, _, t, _ in rows] == [(e.type, e.asset.replace("/", ".")) for e in suite.expectations]
    failed = {name: s for name, s in dom.suites.items() if s["result"] == "failed"}
    assert list(failed) == ["staging_events_shares"]
    [(expectation, table, where)] = [
        (e, t, w) for e, result, t, w in failed["staging_events_shares"]["rows"] if result == "failed"
    ]
    assert (expectation, table) == ("expect_column_values_to_be_between", "staging.stg_tracking__events")
    assert f"platform ios, {ANONYMOUS_DAY}" in where
    # each Dagster check links to its suite's section, and they agree on the result
    by_suite: dict[str, list[bool]] = {}
    for evaluation in run.checks:
        page, suite = _meta(evaluation)["data_docs"].split("#suite-")
        assert page == index.resolve().as_uri()
        by_suite.setdefault(suite, []).append(evaluation.passed)
    assert {name: ("passed" if all(passed) else "failed") for name, passed in by_suite.items()} == {
        name: s["result"] for name, s in dom.suites.items()
    }
