"""The outbox: evaluations stored, one alert per (monitor, date, slice), whatever repeats."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import duckdb
import pytest

from ops_pipeline.alerts import WarehouseBusy, evaluate_and_deliver
from ops_pipeline.alerts.announcements import enqueue, run_failure_alert
from ops_pipeline.alerts.delivery import deliver_pending
from ops_pipeline.alerts.outbox import alert_id, jsonl_path, spool_path
from tests.alerts_support import OUTAGE_DAY, monitors, outbox_rows, write_warehouse

LAST_WEEK = [OUTAGE_DAY - timedelta(days=back) for back in range(7)]


@pytest.fixture
def warehouse(tmp_path):
    return write_warehouse(tmp_path / "warehouse.duckdb")


def test_every_evaluation_is_stored_and_the_swing_becomes_one_local_alert(warehouse):
    alerts = evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=None)
    assert [(a.monitor, a.date, a.likely_cause, a.status, a.new) for a in alerts] == [
        ("tracking_completeness", OUTAGE_DAY, "tracking", "local", True)
    ]
    alert = alerts[0]
    assert alert.alert_id == alert_id("tracking_completeness", OUTAGE_DAY, "all", "all")
    assert alert.drill_down["dimension"] == "platform" and alert.drill_down["top"][0]["dimension_value"] == "ios"

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select monitor, date, dimension, decision from monitoring.evaluations order by monitor, date"
        ).fetchall()
    # 2 monitors x 7 dates, fired or not
    assert len(rows) == 14
    assert ("tracking_completeness", OUTAGE_DAY, "all", "alert") in rows
    assert {r[3] for r in rows if r[0] == "dau"} == {"ok"}

    [row] = outbox_rows(warehouse)
    assert row["status"] == "local" and row["kind"] == "metric" and row["likely_cause"] == "tracking"
    assert json.loads(row["drill_down"])["top"][0]["dimension_value"] == "ios"
    assert "ios" in row["message"] and row["value"] == pytest.approx(alert.value)
    lines = jsonl_path(warehouse).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["alert_id"] for line in lines] == [alert.alert_id]


def test_re_running_never_duplicates_and_says_the_alert_is_known(warehouse):
    first = evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=None)
    again = evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=None)
    once_more = evaluate_and_deliver(warehouse, [OUTAGE_DAY], monitors=monitors(), target=None)
    assert [a.alert_id for a in again] == [a.alert_id for a in once_more] == [first[0].alert_id]
    assert not again[0].new and not once_more[0].new
    assert len(outbox_rows(warehouse)) == 1
    assert len(jsonl_path(warehouse).read_text(encoding="utf-8").splitlines()) == 1
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        # re-evaluating a date replaces its evaluations
        assert conn.execute("select count(*) from monitoring.evaluations").fetchone()[0] == 14


def test_dates_default_to_the_last_one_and_short_history_is_explained(warehouse):
    assert [a.date for a in evaluate_and_deliver(warehouse, monitors=monitors(), target=None)] == [OUTAGE_DAY]
    first_days = [OUTAGE_DAY - timedelta(days=55 - back) for back in range(3)]
    assert evaluate_and_deliver(warehouse, first_days, monitors=monitors(), target=None) == []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        reasons = conn.execute(
            "select distinct decision, reason from monitoring.evaluations where date = ?", [first_days[0]]
        ).fetchall()
    assert reasons == [
        (
            "insufficient_history",
            "insufficient history: 0 day(s) with a value in the 28 days before 2026-01-01 and 0 "
            "same-weekday value(s); need 14 days and 2 same-weekday values",
        )
    ]


def test_a_warehouse_without_marts_is_not_an_error(tmp_path):
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    assert evaluate_and_deliver(tmp_path / "empty.duckdb", monitors=monitors(), target=None) == []


def test_a_locked_warehouse_raises_busy_and_a_run_failure_is_spooled_not_lost(warehouse):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(warehouse)!r}); "
            "print('locked', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusy):
            evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=None)
        failure = run_failure_alert("0123456789abcdef", "pipeline", ["raw__events: disk full"])
        enqueue(warehouse, [failure], target=None, wait_seconds=0, spool_on_busy=True)
        assert spool_path(warehouse).exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    report = deliver_pending(warehouse, None)
    assert [a.alert_id for a in report.absorbed] == [failure.alert_id]
    assert deliver_pending(warehouse, None).absorbed == []  # the spool is absorbed once
    [row] = outbox_rows(warehouse)
    assert row["kind"] == "run_failure" and row["status"] == "local" and "disk full" in row["message"]
