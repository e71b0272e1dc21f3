"""dbt staging and intermediate layers on a tiny hand-written warehouse.

Builds the dbt project against a temporary DuckDB file with the real raw DDL
(ensure_raw_schema), runs it the way Dagster does (one landing day at a time,
vars min_date/max_date, or the same window in the environment), and checks hand-computed values, then that the
incremental result equals a full refresh row for row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ops_pipeline.warehouse import connect, ensure_raw_schema

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
META = ("_landing_date", "_file", "_row_number")

# Landing day 2026-11-01. Shanghai is UTC+8: 15:59:59Z is still Nov 1 there, 16:00Z is Nov 2.
# e0 is an old event (Oct 20): outside later runs' windows, it must stay untouched.
DAY_1 = {
    "events": [
        dict(
            event_id="e0", event_time="2026-10-20 08:00:00+00", event_name="page_view", device_id="d1", platform="ios"
        ),
        dict(event_id="e1", event_time="2026-11-01 02:00:00+00", event_name="app_open", device_id="d1", platform="ios"),
        dict(
            event_id="e2",
            event_time="2026-11-01 15:59:59+00",
            event_name="register",
            device_id="d1",
            user_id="u1",
            platform="ios",
        ),
        dict(
            event_id="e3", event_time="2026-11-01 16:00:00+00", event_name="page_view", device_id="d2", platform="web"
        ),
    ],
    "orders": [
        dict(
            order_id="o1",
            user_id="u1",
            created_at="2026-11-01 01:00:00+00",
            updated_at="2026-11-01 01:05:00+00",
            status="paid",
            amount=100.0,
            paid_at="2026-11-01 01:05:00+00",
        ),
        dict(
            order_id="o2",
            user_id="u1",
            created_at="2026-11-01 03:00:00+00",
            updated_at="2026-11-01 03:00:00+00",
            status="created",
            amount=50.0,
        ),
    ],
    "users": [
        dict(user_id="u1", registered_at="2026-11-01 15:59:59+00", channel="douyin_ads", phone="ab12"),
    ],
    "channel_spend": [
        dict(date="2026-11-01", channel="douyin_ads", campaign_id="c1", impressions=1000, clicks=10, spend=100.0),
        dict(date="2026-11-01", channel="baidu_sem", campaign_id="c2", impressions=500, clicks=5, spend=30.0),
    ],
}
# Landing day 2026-11-02: an SDK retry of e1, o1 refunded, spend of c1 restated.
DAY_2 = {
    "events": [
        dict(event_id="e1", event_time="2026-11-01 02:00:00+00", event_name="app_open", device_id="d1", platform="ios"),
        dict(
            event_id="e6",
            event_time="2026-11-02 03:00:00+00",
            event_name="login",
            device_id="d4",
            user_id="u4",
            platform="android",
        ),
    ],
    "orders": [
        dict(
            order_id="o1",
            user_id="u1",
            created_at="2026-11-01 01:00:00+00",
            updated_at="2026-11-02 17:00:00+00",
            status="refunded",
            amount=100.0,
            currency="CNY",
            paid_at="2026-11-01 01:05:00+00",
            refunded_at="2026-11-02 17:00:00+00",
            refund_amount=40.0,
        ),
    ],
    "channel_spend": [
        dict(date="2026-11-01", channel="douyin_ads", campaign_id="c1", impressions=1200, clicks=12, spend=120.0),
    ],
}
# Landing day 2026-11-03: a late anonymous event of Nov 1 on device d3, which signs in as u3 on
# Nov 3; retries of e2 and of the old e0 (outside the window: must not be duplicated).
DAY_3 = {
    "events": [
        dict(
            event_id="e0", event_time="2026-10-20 08:00:00+00", event_name="page_view", device_id="d1", platform="ios"
        ),
        dict(
            event_id="e4", event_time="2026-11-01 10:00:00+00", event_name="page_view", device_id="d3", platform="web"
        ),
        dict(
            event_id="e5",
            event_time="2026-11-03 01:00:00+00",
            event_name="login",
            device_id="d3",
            user_id="u3",
            platform="web",
        ),
        dict(
            event_id="e2",
            event_time="2026-11-01 15:59:59+00",
            event_name="register",
            device_id="d1",
            user_id="u1",
            platform="ios",
        ),
    ],
}


def _land(warehouse: Path, landing_day: str, tables: dict[str, list[dict]]) -> None:
    conn = connect(warehouse)
    ensure_raw_schema(conn)
    file = f"{landing_day}.csv"
    for table, rows in tables.items():
        for row_number, row in enumerate(rows, start=1):
            columns = [*row, *META]
            values = [*row.values(), date.fromisoformat(landing_day), file, row_number]
            placeholders = ", ".join("?" for _ in columns)
            quoted = ", ".join(f'"{c}"' for c in columns)
            conn.execute(f"insert into raw.{table} ({quoted}) values ({placeholders})", values)
    conn.close()


def _dbt(tmp_path: Path, warehouse: Path, *args: str, env: dict[str, str] | None = None) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt if dbt.exists() else shutil.which("dbt")),
        "build",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
        *args,
    ]
    env = {**os.environ, "OPS_WAREHOUSE": str(warehouse), **(env or {})}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _day_vars(day: str) -> tuple[str, str]:
    return "--vars", f'{{"min_date": "{day}", "max_date": "{day}"}}'


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    conn = connect(warehouse, read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


SNAPSHOTS = {
    "events": "select * from staging.stg_tracking__events order by event_id",
    "stitched": "select * from intermediate.int_events_stitched order by event_id",
    "devices": "select * from intermediate.int_device_users order by device_id",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Day 1 full build, then days 2 and 3 as incremental daily runs, then a full refresh."""
    tmp_path = tmp_path_factory.mktemp("dbt_staging")
    warehouse = tmp_path / "warehouse.duckdb"
    _land(warehouse, "2026-11-01", DAY_1)
    _dbt(tmp_path, warehouse)
    _land(warehouse, "2026-11-02", DAY_2)
    _dbt(tmp_path, warehouse, *_day_vars("2026-11-02"))
    _land(warehouse, "2026-11-03", DAY_3)
    _dbt(tmp_path, warehouse, *_day_vars("2026-11-03"))
    incremental = {name: _rows(warehouse, sql) for name, sql in SNAPSHOTS.items()}
    _dbt(tmp_path, warehouse, "--full-refresh")
    full_refresh = {name: _rows(warehouse, sql) for name, sql in SNAPSHOTS.items()}
    return {"warehouse": warehouse, "incremental": incremental, "full_refresh": full_refresh}


def test_events_deduplicated_on_event_id(built):
    events = _rows(
        built["warehouse"], "select event_id, landing_date from staging.stg_tracking__events order by event_id"
    )
    assert [e for e, _ in events] == ["e0", "e1", "e2", "e3", "e4", "e5", "e6"]
    # the first delivered copy is kept
    assert dict(events)["e1"] == date(2026, 11, 1)
    assert dict(events)["e2"] == date(2026, 11, 1)
    assert dict(events)["e0"] == date(2026, 11, 1)


def test_business_dates_in_shanghai(built):
    dates = dict(_rows(built["warehouse"], "select event_id, event_date from staging.stg_tracking__events"))
    assert dates["e2"] == date(2026, 11, 1)  # 15:59:59Z = 23:59:59 in Shanghai
    assert dates["e3"] == date(2026, 11, 2)  # 16:00:00Z = midnight in Shanghai
    assert dates["e4"] == date(2026, 11, 1)  # landed on Nov 3, counts on its own day


def test_late_event_lands_on_its_business_date_incrementally(built):
    by_id = {row[0]: row for row in built["incremental"]["events"]}
    assert len(built["incremental"]["events"]) == len(by_id) == 7
    assert by_id["e4"][2] == date(2026, 11, 1)
    assert by_id["e4"][-1] == date(2026, 11, 3)


def test_person_stitching(built):
    persons = dict(_rows(built["warehouse"], "select event_id, person_id from intermediate.int_events_stitched"))
    assert persons == {"e0": "u1", "e1": "u1", "e2": "u1", "e3": "d:d2", "e4": "u3", "e5": "u3", "e6": "u4"}


def test_latest_order_version(built):
    orders = _rows(
        built["warehouse"],
        "select order_id, status, currency, refund_amount, paid_date, refunded_date "
        "from staging.stg_backend__orders order by order_id",
    )
    assert orders == [
        ("o1", "refunded", "CNY", 40.0, date(2026, 11, 1), date(2026, 11, 3)),
        ("o2", "created", "CNY", None, None, None),
    ]


def test_restated_spend_wins(built):
    spend = _rows(
        built["warehouse"],
        "select channel, campaign_id, impressions, clicks, spend from staging.stg_ads__channel_spend order by channel",
    )
    assert spend == [("baidu_sem", "c2", 500, 5, 30.0), ("douyin_ads", "c1", 1200, 12, 120.0)]


def test_users_keep_hashes_only(built):
    users = _rows(built["warehouse"], "select user_id, registered_date, phone_hash from staging.stg_backend__users")
    assert users == [("u1", date(2026, 11, 1), "ab12")]


def test_incremental_equals_full_refresh(built):
    for name in SNAPSHOTS:
        assert built["incremental"][name] == built["full_refresh"][name], name


def test_restated_day_that_lost_its_events_is_emptied(tmp_path):
    """A landing day re-delivered without its events leaves nothing behind on the incremental run."""
    warehouse = tmp_path / "warehouse.duckdb"
    _land(warehouse, "2026-11-01", DAY_1)
    _land(warehouse, "2026-11-02", DAY_2)
    _dbt(tmp_path, warehouse, "--select", "stg_tracking__events")
    dates = "select distinct landing_date from staging.stg_tracking__events order by 1"
    assert _rows(warehouse, dates) == [(date(2026, 11, 1),), (date(2026, 11, 2),)]
    conn = connect(warehouse)
    conn.execute("delete from raw.events where _landing_date = '2026-11-02'")  # what re-ingestion does
    conn.close()
    _dbt(tmp_path, warehouse, "--select", "stg_tracking__events", *_day_vars("2026-11-02"))
    assert _rows(warehouse, dates) == [(date(2026, 11, 1),)]


def test_the_window_in_the_environment_bounds_the_recompute_as_vars_do(tmp_path):
    """OPS_DBT_MIN_DATE / OPS_DBT_MAX_DATE, how the Dagster asset passes a run's window (unlike
    --vars, they keep dbt's partial parsing), recompute only the window; empty, every date."""
    warehouse = tmp_path / "warehouse.duckdb"
    _land(warehouse, "2026-11-01", DAY_1)
    _dbt(tmp_path, warehouse, "--select", "stg_tracking__events")
    # an event of Oct 20 landing on Nov 2, far beyond the lookback: only a full recompute reaches its date
    _land(
        warehouse,
        "2026-11-02",
        {
            "events": [
                dict(
                    event_id="late",
                    event_time="2026-10-20 09:00:00+00",
                    event_name="page_view",
                    device_id="d9",
                    platform="ios",
                ),
                dict(
                    event_id="e7",
                    event_time="2026-11-02 03:00:00+00",
                    event_name="app_open",
                    device_id="d9",
                    platform="ios",
                ),
            ]
        },
    )
    events = "select event_id from staging.stg_tracking__events order by event_id"
    _dbt(
        tmp_path,
        warehouse,
        "--select",
        "stg_tracking__events",
        env={"OPS_DBT_MIN_DATE": "2026-11-02", "OPS_DBT_MAX_DATE": "2026-11-02"},
    )
    assert [e for (e,) in _rows(warehouse, events)] == ["e0", "e1", "e2", "e3", "e7"]
    _dbt(tmp_path, warehouse, "--select", "stg_tracking__events", env={"OPS_DBT_MIN_DATE": "", "OPS_DBT_MAX_DATE": ""})
    assert [e for (e,) in _rows(warehouse, events)] == ["e0", "e1", "e2", "e3", "e7", "late"]
