"""Event-derived marts (activity, funnel, retention, content, channel quality) built for real.

Builds the dbt project into temporary DuckDB files with the real raw DDL
(ensure_raw_schema) and hand-inserted raw rows, then checks (1) hand-computed
values on a small fixture, and (2) that daily incremental runs (vars
min_date/max_date, as Dagster runs them) give the same marts, row for row, as
a --full-refresh build, also when a device signs up long after its anonymous
visits (beyond lookback_days).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ops_pipeline.warehouse import connect, ensure_raw_schema

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
MARTS = ("activity_daily", "funnel_daily", "retention_cohort", "content_daily", "channel_quality")
SELECTION = ("--select", *(f"+{mart}" for mart in MARTS), "--indirect-selection", "cautious")
COMPACT = (
    "intermediate.int_device_days_aggregated",
    "intermediate.int_funnel_events_compacted",
    "intermediate.int_content_views_aggregated",
    "intermediate.int_pay_events_compacted",
)
NOV = [date(2026, 11, day) for day in range(1, 31)]


def _land(warehouse: Path, landing_day: date, tables: dict[str, list[dict]]) -> None:
    """Insert raw rows of one landing day as ingestion would (one file per source)."""
    conn = connect(warehouse)
    ensure_raw_schema(conn)
    file = f"{landing_day.isoformat()}.csv"
    for table, rows in tables.items():
        for row_number, row in enumerate(rows, start=1):
            columns = [*row, "_landing_date", "_file", "_row_number"]
            values = [*row.values(), landing_day, file, row_number]
            quoted = ", ".join(f'"{c}"' for c in columns)
            conn.execute(f"insert into raw.{table} ({quoted}) values ({', '.join('?' for _ in columns)})", values)
        conn.execute(
            "insert into raw.ingestion_log (source, file, landing_date, format, rows_read, rows_loaded,"
            " rows_quarantined, ingested_at) values (?, ?, ?, 'csv', ?, ?, 0, now())",
            [table, file, landing_day, len(rows), len(rows)],
        )
    conn.close()


def _dbt(tmp_path: Path, warehouse: Path, *args: str, command_name: str = "build") -> None:
    """dbt build (models, unit tests, data tests) of the marts' lineage; `run` skips the tests."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt if dbt.exists() else shutil.which("dbt")),
        command_name,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
        *SELECTION,
        *args,
    ]
    env = {**os.environ, "OPS_WAREHOUSE": str(warehouse)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _day_vars(day: date) -> tuple[str, str]:
    return "--vars", f'{{"min_date": "{day}", "max_date": "{day}"}}'


def _rows(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    conn = connect(warehouse, read_only=True)
    try:
        return conn.execute(sql, parameters or []).fetchall()
    finally:
        conn.close()


def _snapshot(warehouse: Path, table: str) -> list[tuple]:
    """All rows, sorted on every column, floats rounded (sums may add up in another order)."""
    rows = _rows(warehouse, f"select * from {table}")
    normalised = [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]
    return sorted(normalised, key=lambda row: tuple((v is None, str(v)) for v in row))


def _event(event_id, time, name, device, user=None, platform="ios", channel=None, content_id=None):
    return dict(
        event_id=event_id,
        event_time=time,
        event_name=name,
        device_id=device,
        user_id=user,
        platform=platform,
        channel=channel,
        content_id=content_id,
    )


# ---------------------------------------------------------------------------------------------
# (1) A small fixture with hand-computed values. Shanghai is UTC+8: 02:00Z is 10:00 the same day.
#
#   dA: anonymous Nov 1 and Nov 2, registers as uA on Nov 3   -> person uA on Nov 1, 2, 3
#   uB: registered Nov 1 (users source), first event Nov 2; funnel on Nov 2: app_open 01:00Z (t1),
#       product_view 00:30Z (before t1: no) and 03:00Z, add_to_cart 02:00Z (before t2: no) and
#       04:00Z, order_submit Nov 3 02:00Z (after t1 + 24 h: no)  -> reaches step 3 of 5
#   dC: never signs up; app_open 15:59:59Z (Nov 4 in Shanghai), product_view 16:00:00Z (Nov 5)
#   uD: Nov 1 and Nov 4 (retained on day 3, not day 1); uE: Nov 1 and Nov 3 (day 2: neither)
# Landing days Nov 1..10, so the last complete date is Nov 10.
# ---------------------------------------------------------------------------------------------
FIXTURE_EVENTS = {
    NOV[0]: [
        _event("a1", "2026-11-01 02:00:00+00", "page_view", "dA", channel="douyin_ads"),
        _event("d1", "2026-11-01 03:00:00+00", "login", "dD", "uD", channel="kol"),
        _event("e1", "2026-11-01 04:00:00+00", "app_open", "dE", "uE", channel="kol"),
    ],
    NOV[1]: [
        _event("a2", "2026-11-02 02:00:00+00", "app_open", "dA"),
        _event("a5", "2026-11-02 02:10:00+00", "content_view", "dA", content_id="ct1"),
        _event("b0", "2026-11-02 00:30:00+00", "product_view", "dB", "uB", "android"),
        _event("b1", "2026-11-02 01:00:00+00", "app_open", "dB", "uB", "android", "baidu_sem"),
        _event("b6", "2026-11-02 01:30:00+00", "content_view", "dB", "uB", "android", content_id="ct1"),
        _event("b3", "2026-11-02 02:00:00+00", "add_to_cart", "dB", "uB", "android"),
        _event("b2", "2026-11-02 03:00:00+00", "product_view", "dB", "uB", "android"),
        _event("b4", "2026-11-02 04:00:00+00", "add_to_cart", "dB", "uB", "android"),
    ],
    NOV[2]: [
        _event("a3", "2026-11-03 02:00:00+00", "register", "dA", "uA"),
        _event("b7", "2026-11-03 01:00:00+00", "pay_success", "dB", "uB", "android"),
        _event("b5", "2026-11-03 02:00:00+00", "order_submit", "dB", "uB", "android"),
        _event("e2", "2026-11-03 04:00:00+00", "app_open", "dE", "uE"),
    ],
    NOV[3]: [
        _event("d2", "2026-11-04 03:00:00+00", "app_open", "dD", "uD"),
        _event("c0", "2026-11-04 15:00:00+00", "content_view", "dC", platform="web", content_id="ct2"),
        _event("c1", "2026-11-04 15:59:59+00", "app_open", "dC", platform="web"),
    ],
    NOV[4]: [
        _event("c2", "2026-11-04 16:00:00+00", "product_view", "dC", platform="web"),
    ],
}
FIXTURE_OTHER = {
    NOV[0]: {
        "users": [dict(user_id="uB", registered_at="2026-10-31 20:00:00+00", channel="baidu_sem")],
    },
    NOV[1]: {
        "content": [
            dict(
                date="2026-11-02",
                content_id="ct1",
                platform="wechat",
                title="双十一攻略",
                exposures=100,
                clicks=10,
                reads=8,
                dwell_seconds_total=80.0,
                likes=1,
                comments=1,
                shares=0,
                new_followers=2,
            ),
            dict(date="2026-11-02", content_id="ct1", platform="weibo", exposures=0, clicks=0, likes=2),
        ],
        "orders": [
            dict(
                order_id="o1",
                user_id="uB",
                created_at="2026-11-02 05:00:00+00",
                updated_at="2026-11-02 05:01:00+00",
                status="paid",
                amount=80.0,
                paid_at="2026-11-02 05:01:00+00",
            )
        ],
        "channel_spend": [
            dict(date="2026-11-02", channel="wechat_ads", campaign_id="w1", impressions=1000, clicks=10, spend=300.0)
        ],
    },
    NOV[2]: {
        "users": [dict(user_id="uA", registered_at="2026-11-03 02:00:00+00", channel="wechat_ads")],
    },
    NOV[4]: {
        "orders": [
            dict(
                order_id="o2",
                user_id="uA",
                created_at="2026-11-05 01:00:00+00",
                updated_at="2026-11-05 01:00:00+00",
                status="paid",
                amount=120.0,
                paid_at="2026-11-05 01:00:00+00",
            ),
            # paid 31 days after registering: outside paid_gmv_30d
            dict(
                order_id="o3",
                user_id="uA",
                created_at="2026-12-04 03:00:00+00",
                updated_at="2026-12-04 03:00:00+00",
                status="paid",
                amount=999.0,
                paid_at="2026-12-04 03:00:00+00",
            ),
        ],
    },
    NOV[8]: {
        "channel_spend": [
            dict(date="2026-11-09", channel="wechat_ads", campaign_id="w1", impressions=500, clicks=0, spend=100.0)
        ],
    },
}


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("marts_fixture")
    warehouse = tmp_path / "warehouse.duckdb"
    for day in NOV[:10]:
        tables = {"events": FIXTURE_EVENTS.get(day, []), **FIXTURE_OTHER.get(day, {})}
        _land(warehouse, day, tables)
    _dbt(tmp_path, warehouse)
    return warehouse


def test_activity_daily(fixture_warehouse):
    rows = _rows(
        fixture_warehouse,
        "select date, dau, wau, mau, stickiness, new_users, new_visitors from marts.activity_daily order by date",
    )
    expected = {
        # date: dau, wau, mau, stickiness, new_users, new_visitors
        1: (3, 3, 3, 1.0, 1, 3),  # uA (anonymous dA), uD, uE; uB registered (users source)
        2: (2, 4, 4, 0.5, 0, 1),  # uA, uB; uB's first event
        3: (3, 4, 4, 0.75, 1, 0),  # uA signs up: counted once; uA registered
        4: (2, 5, 5, 0.4, 0, 1),  # uD, dC (15:59:59Z)
        5: (1, 5, 5, 0.2, 0, 0),  # dC (16:00:00Z is the next Shanghai day)
        6: (0, 5, 5, 0.0, 0, 0),
        7: (0, 5, 5, 0.0, 0, 0),
        8: (0, 5, 5, 0.0, 0, 0),  # [Nov 2, Nov 8]: uA, uB, uE, uD, dC
        9: (0, 5, 5, 0.0, 0, 0),  # [Nov 3, Nov 9]: uA, uB, uE (Nov 3), uD, dC
        10: (0, 2, 5, 0.0, 0, 0),  # [Nov 4, Nov 10]: uD, dC
    }
    assert [(r[0].day, *r[1:]) for r in rows] == [(day, *values) for day, values in expected.items()]


def test_funnel_daily(fixture_warehouse):
    rows = _rows(
        fixture_warehouse,
        "select date, platform, channel, step_index, step_name, persons, "
        "conversion_from_previous, conversion_from_first "
        "from marts.funnel_daily order by date, platform, channel, step_index",
    )
    by_slice: dict[tuple, list[tuple]] = {}
    for day, platform, channel, *step in rows:
        by_slice.setdefault((day.day, platform, channel), []).append(tuple(step))
    assert set(by_slice) == {
        (1, "ios", "douyin_ads"),
        (1, "ios", "kol"),
        (2, "ios", "(none)"),
        (2, "android", "baidu_sem"),
        (3, "ios", "(none)"),
        (4, "ios", "(none)"),
        (4, "web", "(none)"),
    }
    # uB: product_view before the entry and add_to_cart before product_view do not count,
    # order_submit after the 24-hour window does not count; 0 / 0 is NULL.
    assert by_slice[(2, "android", "baidu_sem")] == [
        (1, "visit", 1, None, 1.0),
        (2, "product_view", 1, 1.0, 1.0),
        (3, "add_to_cart", 1, 1.0, 1.0),
        (4, "order_submit", 0, 0.0, 0.0),
        (5, "pay_success", 0, None, 0.0),
    ]
    # dC enters at 23:59:59 Shanghai time; the product_view one second later (next day) counts
    assert [step[2] for step in by_slice[(4, "web", "(none)")]] == [1, 1, 0, 0, 0]
    # anonymous dA enters on Nov 1 (page_view, douyin_ads) and Nov 2 (app_open, no channel) as uA
    assert [step[2] for step in by_slice[(1, "ios", "douyin_ads")]] == [1, 0, 0, 0, 0]


def test_retention_cohort(fixture_warehouse):
    rows = _rows(
        fixture_warehouse,
        "select cohort_date, acquisition_channel, day_n, cohort_size, retained, "
        "retention_rate from marts.retention_cohort order by 1, 2, 3",
    )
    assert [(r[0].day, *r[1:]) for r in rows] == [
        (1, "kol", 1, 2, 0, 0.0),  # uD, uE (first event's channel)
        (1, "kol", 3, 2, 1, 0.5),  # uD back on exactly day 3; uE on day 2 only
        (1, "kol", 7, 2, 0, 0.0),
        (1, "wechat_ads", 1, 1, 1, 1.0),  # uA: users source's channel wins over the first event's
        (1, "wechat_ads", 3, 1, 0, 0.0),
        (1, "wechat_ads", 7, 1, 0, 0.0),
        (2, "baidu_sem", 1, 1, 1, 1.0),  # uB
        (2, "baidu_sem", 3, 1, 0, 0.0),
        (2, "baidu_sem", 7, 1, 0, 0.0),
        (4, "(none)", 1, 1, 1, 1.0),  # dC; its day 7 (Nov 11) is after the last complete date
        (4, "(none)", 3, 1, 0, 0.0),
    ]


def test_content_daily(fixture_warehouse):
    rows = _rows(
        fixture_warehouse,
        "select date, content_id, platform, exposures, ctr, avg_dwell_seconds, "
        "interaction_rate, content_viewers, content_assisted_payers "
        "from marts.content_daily order by 1, 2, 3",
    )
    assert [(r[0].day, *r[1:]) for r in rows] == [
        # uB viewed at 01:30Z and paid the next day at 01:00Z (< 24 h); uA (anonymous dA) did not pay
        (2, "ct1", "wechat", 100, 0.1, 10.0, 0.25, 2, 1),
        (2, "ct1", "weibo", 0, None, None, None, 2, 1),
        (4, "ct2", "(none)", None, None, None, None, 1, 0),  # viewed in the app, no statistics row
    ]


def test_channel_quality(fixture_warehouse):
    rows = _rows(
        fixture_warehouse,
        "select acquisition_channel, cohort_week, cohort_size, d7_retention_rate, "
        "acquired_users, paid_gmv_30d, paid_gmv_30d_per_user, spend, cac "
        "from marts.channel_quality order by 1, 2",
    )
    oct26, nov2, nov9 = date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9)
    assert rows == [
        ("(none)", nov2, 1, None, 0, 0.0, None, 0.0, None),  # dC: day 7 not complete yet
        ("baidu_sem", oct26, 0, None, 1, 80.0, 80.0, 0.0, 0.0),  # uB registered Sunday Nov 1
        ("baidu_sem", nov2, 1, 0.0, 0, 0.0, None, 0.0, None),
        ("kol", oct26, 2, 0.0, 0, 0.0, None, 0.0, None),
        ("wechat_ads", oct26, 1, 0.0, 0, 0.0, None, 0.0, None),
        ("wechat_ads", nov2, 0, None, 1, 120.0, 120.0, 300.0, 300.0),  # o3 paid after 31 days: out
        ("wechat_ads", nov9, 0, None, 0, 0.0, None, 100.0, None),
    ]


# ---------------------------------------------------------------------------------------------
# (2) Incremental runs equal a full refresh. A random world over 14 landing days; events land on
# their UTC day or the next one (late), SDK retries resend some, devices sign up days after their
# anonymous visits. Device "late_signup" browses anonymously on day 2 and signs up on day 12,
# further back than lookback_days (3): its old days, funnel entries and cohort must move.
# ---------------------------------------------------------------------------------------------
DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(14)]
FIRST_INCREMENTAL_DAY = 11  # days 0..10 in one build, then one run per day (late_signup: day 11)


def _random_world(seed: int = 7) -> dict[date, dict[str, list[dict]]]:
    rng = random.Random(seed)
    landing: dict[date, dict[str, list[dict]]] = {
        day: {"events": [], "users": [], "orders": [], "channel_spend": [], "content": []} for day in DAYS
    }
    names = [
        "app_open",
        "page_view",
        "product_view",
        "add_to_cart",
        "order_submit",
        "pay_success",
        "content_view",
        "search",
        "register",
        "login",
    ]
    weights = [4, 6, 5, 3, 2, 2, 3, 1, 0, 1]
    counter = 0

    def add_event(at: datetime, name: str, device: str, user: str | None, platform: str, channel: str | None):
        nonlocal counter
        counter += 1
        row = _event(
            f"ev{counter:05d}",
            at.isoformat(),
            name,
            device,
            user,
            platform,
            channel,
            f"ct{rng.randint(1, 3)}" if name == "content_view" else None,
        )
        day = min(max(at.date(), DAYS[0]) + timedelta(days=1 if rng.random() < 0.15 else 0), DAYS[-1])
        landing[day]["events"].append(row)
        if rng.random() < 0.05 and day < DAYS[-1]:  # an SDK retry lands again the next day
            landing[day + timedelta(days=1)]["events"].append(dict(row))

    start = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)
    for device_number in range(30):
        device = f"dev{device_number:02d}"
        platform = rng.choice(["ios", "android", "web", "mini_program"])
        channel = rng.choice([None, "douyin_ads", "kol", "baidu_sem"])
        first_day = rng.randrange(0, 12)
        signup_day = first_day + rng.choice([0, 1, 2, 5, 8, 20])
        user = f"user{device_number:02d}"
        for day_index in range(first_day, 14):
            if day_index != first_day and rng.random() < 0.5:
                continue
            signed_in = day_index >= signup_day
            if day_index == signup_day and day_index < 14:
                at = start + timedelta(days=day_index, hours=rng.uniform(0, 23))
                add_event(at, "register", device, user, platform, channel)
                landing[DAYS[day_index]]["users"].append(
                    dict(user_id=user, registered_at=at.isoformat(), channel=channel)
                )
            for _ in range(rng.randint(1, 12)):
                at = start + timedelta(days=day_index, hours=rng.uniform(0, 24))
                name = rng.choices(names, weights)[0]
                add_event(
                    at, name, device, user if signed_in else None, platform, channel if rng.random() < 0.7 else None
                )
                if name == "pay_success" and signed_in:
                    order_day = min(max(at.date(), DAYS[0]), DAYS[-1])
                    landing[order_day]["orders"].append(
                        dict(
                            order_id=f"o{counter}",
                            user_id=user,
                            created_at=at.isoformat(),
                            updated_at=at.isoformat(),
                            status="paid",
                            amount=round(rng.uniform(10, 500), 2),
                            paid_at=at.isoformat(),
                        )
                    )
    # the device that signs up far beyond the lookback window
    late = start + timedelta(days=1, hours=10)
    add_event(late, "page_view", "late_signup", None, "web", "kol")
    add_event(late + timedelta(minutes=5), "product_view", "late_signup", None, "web", None)
    add_event(late + timedelta(days=2), "app_open", "late_signup", None, "web", None)
    signup = start + timedelta(days=11, hours=9)
    add_event(signup, "register", "late_signup", "late_user", "web", None)
    landing[DAYS[11]]["users"].append(dict(user_id="late_user", registered_at=signup.isoformat(), channel="kol"))
    for day in DAYS:
        for channel in ("douyin_ads", "baidu_sem"):
            landing[day]["channel_spend"].append(
                dict(
                    date=day.isoformat(),
                    channel=channel,
                    campaign_id="c1",
                    impressions=1000,
                    clicks=rng.randint(0, 50),
                    spend=round(rng.uniform(50, 500), 2),
                )
            )
        for content in ("ct1", "ct2"):
            landing[day]["content"].append(
                dict(
                    date=day.isoformat(),
                    content_id=content,
                    platform="wechat",
                    exposures=100,
                    clicks=rng.randint(0, 10),
                    reads=rng.choice([None, 5]),
                    likes=rng.randint(0, 3),
                )
            )
    return landing


@pytest.fixture(scope="module")
def incremental_and_full(tmp_path_factory) -> dict[str, tuple[list, list]]:
    world = _random_world()
    tmp_path = tmp_path_factory.mktemp("marts_incremental")
    incremental, full = tmp_path / "incremental.duckdb", tmp_path / "full.duckdb"
    for day in DAYS[:FIRST_INCREMENTAL_DAY]:
        _land(incremental, day, world[day])
    _dbt(tmp_path, incremental)
    for day in DAYS[FIRST_INCREMENTAL_DAY:]:
        _land(incremental, day, world[day])
        _dbt(tmp_path, incremental, *_day_vars(day), command_name="run")  # tests: in the other builds
    for day in DAYS:
        _land(full, day, world[day])
    _dbt(tmp_path, full, "--full-refresh")
    tables = [f"marts.{mart}" for mart in MARTS] + list(COMPACT)
    snapshots = {table: (_snapshot(incremental, table), _snapshot(full, table)) for table in tables}
    return {"snapshots": snapshots, "incremental": incremental}


@pytest.mark.parametrize("table", [f"marts.{mart}" for mart in MARTS] + list(COMPACT))
def test_incremental_equals_full_refresh(incremental_and_full, table):
    incremental, full = incremental_and_full["snapshots"][table]
    assert full, f"{table} is empty: the comparison would prove nothing"
    assert incremental == full


def test_late_signup_moves_old_anonymous_days(incremental_and_full):
    """After the day-12 run, late_signup's anonymous days 2 and 4 belong to late_user, cohort day 2."""
    warehouse = incremental_and_full["incremental"]
    days = _rows(
        warehouse,
        "select event_date, person_id from intermediate.int_person_days_stitched "
        "where person_id in ('late_user', 'd:late_signup') order by event_date",
    )
    assert days == [(DAYS[1], "late_user"), (DAYS[3], "late_user"), (DAYS[11], "late_user")]
    person = _rows(
        warehouse,
        "select cohort_date, acquisition_channel from intermediate.int_persons_acquired where person_id = 'late_user'",
    )
    assert person == [(DAYS[1], "kol")]
    entries = _rows(
        warehouse,
        "select count(*) from marts.funnel_daily where date = ? and platform = 'web' "
        "and channel = 'kol' and step_index = 2 and persons > 0",
        [DAYS[1]],
    )
    assert entries == [(1,)]
