"""Ingestion: the contract's bad-input kinds, reconciliation, restatement, unreadable files."""

import csv
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ops_pipeline import landing, warehouse
from ops_pipeline.ingest import ingest_range

DAY = date(2026, 11, 1)
SALT = "test-salt"

EVENT_HEADER = ["event_id", "event_time", "event_name", "device_id", "user_id", "platform", "properties"]
GOOD_EVENT = ["e1", "2026-11-01T01:00:00Z", "app_open", "d1", "", "ios", '{"screen": "home"}']

ORDER_HEADER = [
    "order_id",
    "user_id",
    "created_at",
    "updated_at",
    "status",
    "amount",
    "currency",
    "paid_at",
    "refunded_at",
    "refund_amount",
]
T = "2026-11-01T10:00:00+08:00"
GOOD_ORDER = ["o1", "u1", T, T, "paid", "100.5", "CNY", T, "", ""]


def write_csv(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load(landing_dir: Path, wh_path: Path, source: str, day: date = DAY):
    conn = warehouse.connect(wh_path)
    warehouse.ensure_raw_schema(conn)
    files = landing.scan(landing_dir, source).by_source_day().get(source, {})
    results = ingest_range(conn, source, day, day, files, timezone_name="Asia/Shanghai", pii_salt=SALT)
    return conn, results


def quarantine(conn, source: str) -> dict[int, str]:
    rows = conn.execute(
        "select row_number, reason from raw.quarantine where source = ? order by row_number", [source]
    ).fetchall()
    return dict(rows)


def test_event_bad_rows_get_their_reasons(tmp_path):
    rows = [
        GOOD_EVENT,
        ["e2", "2026-11-01T02:00:00Z", "page_view", "d1", "", "harmony_os", ""],  # unknown platform
        ["e3", "yesterday", "page_view", "d1", "", "ios", ""],  # wrong type
        ["", "2026-11-01T02:00:00Z", "page_view", "d1", "", "ios", ""],  # missing required
        ["e5", "2026-11-03T00:00:00Z", "page_view", "d1", "", "ios", ""],  # 08:00 on Nov 3 in Shanghai
        ["e6", "2026-11-02T15:59:59Z", "page_view", "d1", "u1", "android", ""],  # 23:59:59 on Nov 2: allowed
        ["e7", "2026-11-01T02:00:00Z", "page_view", "d1", "", "web", "{not json"],  # properties not JSON
    ]
    write_csv(tmp_path / "landing/events/2026-11-01.csv", EVENT_HEADER, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (7, 2, 5)
    reasons = quarantine(conn, "events")
    assert reasons == {
        2: "unknown platform: harmony_os",
        3: "event_time is not a valid timestamp: yesterday",
        4: "missing required event_id",
        5: "event_time more than one day after landing day: 2026-11-03T00:00:00Z landed 2026-11-01",
        7: "properties is not valid JSON",
    }
    loaded = conn.execute("select event_id, _row_number from raw.events order by event_id").fetchall()
    assert loaded == [("e1", 1), ("e6", 6)]
    record = json.loads(conn.execute("select record from raw.quarantine where row_number = 2").fetchone()[0])
    assert record["platform"] == "harmony_os" and record["event_id"] == "e2"


def test_order_bad_rows_get_their_reasons(tmp_path):
    rows = [
        GOOD_ORDER,
        ["o2", "u1", T, T, "paid", "-3", "CNY", T, "", ""],  # negative money
        ["o3", "u1", T, T, "paid", "10", "CNY", "", "", ""],  # status without its timestamp
        ["o4", "u1", T, T, "refunded", "10", "CNY", T, "", "5"],  # refunded without refunded_at
        ["o5", "u1", T, T, "paid", "10", "USD", T, "", ""],  # non-CNY currency
        ["o6", "u1", T, T, "refunded", "10", "CNY", T, T, "11"],  # refund above amount
        ["o7", "u1", T, T, "created", "abc", "", "", "", ""],  # wrong type
        ["o8", "u1", T, T, "shipped", "10", "", "", "", ""],  # unknown status
        ["o9", "u1", T, T, "refunded", "10", "cny", T, T, "4"],  # fine: partial refund, lower-case CNY
    ]
    write_csv(tmp_path / "landing/orders/2026-11-01.csv", ORDER_HEADER, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "orders")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (9, 2, 7)
    assert quarantine(conn, "orders") == {
        2: "negative amount: -3",
        3: "status paid without paid_at",
        4: "status refunded without refunded_at",
        5: "currency is not CNY: USD",
        6: "refund_amount above amount: 11 > 10",
        7: "amount is not a valid decimal: abc",
        8: "unknown status: shipped",
    }
    amounts = conn.execute("select order_id, amount, refund_amount from raw.orders order by 1").fetchall()
    assert amounts == [("o1", 100.5, None), ("o9", 10.0, 4.0)]


def test_spend_and_content_clicks_above_impressions(tmp_path):
    write_csv(
        tmp_path / "landing/channel_spend/2026-11-01.csv",
        ["date", "channel", "campaign_id", "impressions", "clicks", "spend"],
        [
            ["2026-11-01", "douyin_ads", "c1", "1000", "30", "250.0"],
            ["2026-11-01", "douyin_ads", "c2", "100", "300", "10"],
            ["2026-11-01", "douyin_ads", "c3", "1.5k", "3", "10"],
        ],
    )
    write_csv(
        tmp_path / "landing/content/2026-11-01.csv",
        ["date", "content_id", "platform", "title", "exposures", "clicks"],
        [
            ["2026-11-01", "k1", "wechat", '双十一攻略, "必看"', "500", "40"],
            ["2026-11-01", "k2", "weibo", "x", "5", "6"],
        ],
        bom=True,
    )
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "channel_spend")
    assert quarantine(conn, "channel_spend") == {
        2: "clicks above impressions: 300 > 100",
        3: "impressions is not a valid integer: 1.5k",
    }
    conn.close()
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "content")
    assert quarantine(conn, "content") == {2: "clicks above exposures: 6 > 5"}
    assert conn.execute("select title from raw.content").fetchone()[0] == '双十一攻略, "必看"'


def test_columns_match_case_insensitively_and_extras_are_kept(tmp_path):
    header = ["Event_ID", "EVENT_TIME", "event_name", "Device_Id", "platform", "sdk_build"]
    write_csv(
        tmp_path / "landing/events/2026-11-01.csv",
        header,
        [["e1", "2026-11-01T01:00:00", "app_open", "d1", "iOS", "b77"]],
    )
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert day.rows_loaded == 1
    event_id, event_time, platform, extra = conn.execute(
        "select event_id, epoch(event_time), platform, _extra from raw.events"
    ).fetchone()
    # naive timestamps mean UTC
    assert (event_id, platform) == ("e1", "ios")
    assert event_time == datetime(2026, 11, 1, 1, tzinfo=UTC).timestamp()
    assert json.loads(extra) == {"sdk_build": "b77"}


def test_jsonl_malformed_lines_and_mixed_case_keys(tmp_path):
    path = tmp_path / "landing/events/2026-11-01_late.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "event_id": "j1",
                "event_time": "2026-10-31T20:00:00+08:00",
                "event_name": "register",
                "device_id": "d1",
                "user_id": "u1",
                "platform": "android",
                "properties": {"a": [1, 2]},
            }
        ),
        "",
        "{broken",
        json.dumps(
            {
                "EVENT_ID": "j2",
                "Event_Time": "2026-10-31T12:00:00Z",
                "event_name": "app_open",
                "device_id": "d2",
                "platform": "web",
            }
        ),
        "[1, 2]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    # the blank line is not a record
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (4, 2, 2)
    assert quarantine(conn, "events") == {
        3: "malformed JSON line: not a JSON object",
        5: "malformed JSON line: not a JSON object",
    }
    rows = conn.execute("select event_id, properties, _row_number from raw.events order by 1").fetchall()
    assert rows == [("j1", '{"a":[1,2]}', 1), ("j2", None, 4)]


def test_csv_records_with_wrong_field_count_are_quarantined_with_their_row(tmp_path):
    path = tmp_path / "landing/events/2026-11-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        ",".join(EVENT_HEADER)
        + "\n"
        + ",".join(GOOD_EVENT[:-1])
        + ",\n"
        + "e2,2026-11-01T01:00:00Z,app_open\n"
        + "e3,2026-11-01T01:00:00Z,app_open,d3,,ios,\n",
        encoding="utf-8",
    )
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (3, 2, 1)
    ((row, reason),) = quarantine(conn, "events").items()
    assert row == 2 and reason.startswith("malformed CSV record")
    assert conn.execute("select list(_row_number order by _row_number) from raw.events").fetchone()[0] == [1, 3]


def test_parquet_is_read(tmp_path):
    path = tmp_path / "landing/kol_posts/2026-11-01.parquet"
    path.parent.mkdir(parents=True)
    table = pa.table(
        {
            "post_id": ["p1", "p2"],
            "kol_id": ["k1", "k1"],
            "platform": ["douyin", "douyin"],
            "followers": [10000, 10000],
            "published_at": ["2026-10-30T00:00:00Z"] * 2,
            "views": [500, -1],
            "likes": [10, 1],
            "comments": [2, 0],
            "shares": [1, 0],
            "fee": [2000.0, 2000.0],
            "campaign_id": ["kol_p1", "kol_p2"],
            "audience_match": [0.4, None],
        }
    )
    pq.write_table(table, path)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "kol_posts")
    assert (day.rows_loaded, day.rows_quarantined) == (1, 1)
    assert quarantine(conn, "kol_posts") == {2: "negative views: -1"}


def test_personal_data_is_hashed_with_the_salt(tmp_path):
    path = tmp_path / "landing/users/2026-11-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {"user_id": "u1", "registered_at": "2026-11-01 02:00:00", "phone": "13812345678", "email": "a@example.com"}
        )
        + "\n"
        + json.dumps({"user_id": "u2", "registered_at": "never", "phone": "13900000000"})
        + "\n",
        encoding="utf-8",
    )
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "users")
    phone, email = conn.execute("select phone, email from raw.users").fetchone()
    assert phone == hashlib.sha256((SALT + "13812345678").encode()).hexdigest()
    assert email == hashlib.sha256((SALT + "a@example.com").encode()).hexdigest()
    everything = str(conn.execute("select * from raw.quarantine").fetchall()) + str(
        conn.execute("select * from raw.users").fetchall()
    )
    assert "13812345678" not in everything and "13900000000" not in everything


def test_reingesting_a_day_replaces_it(tmp_path):
    landing_dir, wh = tmp_path / "landing", tmp_path / "wh.duckdb"
    write_csv(
        landing_dir / "events/2026-11-01.csv",
        EVENT_HEADER,
        [GOOD_EVENT, ["e2", "2026-11-01T01:00:00Z", "app_open", "d2", "", "nokia", ""]],
    )
    conn, _ = load(landing_dir, wh, "events")
    conn, _ = load(landing_dir, wh, "events")  # same files again: nothing doubles
    counts = lambda: conn.execute(  # noqa: E731
        "select (select count(*) from raw.events), (select count(*) from raw.quarantine), "
        "(select count(*) from raw.ingestion_log)"
    ).fetchone()
    assert counts() == (1, 1, 1)
    # a restatement with a second file for the day replaces the day's rows
    write_csv(landing_dir / "events/2026-11-01.csv", EVENT_HEADER, [GOOD_EVENT])
    write_csv(
        landing_dir / "events/2026-11-01_retry.csv",
        EVENT_HEADER,
        [["e9", "2026-11-01T03:00:00Z", "app_open", "d9", "", "web", ""]],
    )
    conn.close()
    conn, _ = load(landing_dir, wh, "events")
    assert counts() == (2, 0, 2)


def test_ingestion_log_reconciles(tmp_path):
    write_csv(
        tmp_path / "landing/orders/2026-11-01.csv",
        ORDER_HEADER,
        [GOOD_ORDER, ["o2", "u1", T, T, "paid", "-3", "CNY", T, "", ""]],
    )
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "orders")
    file, sha, read, loaded, quarantined = conn.execute(
        "select file, sha256, rows_read, rows_loaded, rows_quarantined from raw.ingestion_log"
    ).fetchone()
    assert sha == hashlib.sha256(Path(file).read_bytes()).hexdigest()
    assert (read, loaded, quarantined) == (2, 1, 1)
    assert loaded == conn.execute("select count(*) from raw.orders").fetchone()[0]
    assert quarantined == conn.execute("select count(*) from raw.quarantine").fetchone()[0]


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("2026-11-01.csv", "event_id,event_time\n\xff\xfe,1\n".encode("latin-1"), "not UTF-8"),
        (
            "2026-11-01.csv",
            b"event_id,event_name,device_id,platform\ne1,app_open,d1,ios\n",
            "missing required column(s) event_time",
        ),
        ("2026-11-01.parquet", b"PAR1\x00\x00garbage", "cannot read parquet"),
    ],
)
def test_unreadable_file_fails_the_day_and_loads_nothing(tmp_path, name, content, problem):
    landing_dir, wh = tmp_path / "landing", tmp_path / "wh.duckdb"
    write_csv(landing_dir / "events/2026-11-01_a.csv", EVENT_HEADER, [GOOD_EVENT])
    conn, (day,) = load(landing_dir, wh, "events")
    assert day.error is None
    conn.close()
    (landing_dir / "events" / name).write_bytes(content)
    conn, (day,) = load(landing_dir, wh, "events")
    assert day.error is not None and name in day.error and problem in day.error
    # the day is rolled back whole: the earlier load of that day is still there, nothing of the bad file
    assert conn.execute("select count(*), min(_file) from raw.events").fetchone() == (
        1,
        str(landing_dir / "events/2026-11-01_a.csv"),
    )
    assert conn.execute("select count(*) from raw.ingestion_log").fetchone()[0] == 1


def test_a_bad_day_in_a_range_keeps_what_it_held_and_the_other_days_load(tmp_path):
    landing_dir, wh = tmp_path / "landing", tmp_path / "wh.duckdb"
    first, bad, last = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)

    def event(event_id: str, day: date, platform: str = "ios") -> list[str]:
        return [event_id, f"{day}T01:00:00Z", "app_open", "d1", "", platform, ""]

    def ingest():
        conn = warehouse.connect(wh)
        warehouse.ensure_raw_schema(conn)
        files = landing.scan(landing_dir, "events").by_source_day().get("events", {})
        results = ingest_range(conn, "events", first, last, files, timezone_name="Asia/Shanghai", pii_salt=SALT)
        return conn, results

    write_csv(landing_dir / f"events/{bad}.csv", EVENT_HEADER, [event("old", bad)])
    conn, _ = ingest()
    conn.close()
    # Restate the range: new files for the first and last day, and an unreadable second file for the bad day.
    write_csv(
        landing_dir / f"events/{first}.csv", EVENT_HEADER, [event("a1", first), event("a2", first, platform="nokia")]
    )
    write_csv(landing_dir / f"events/{bad}.csv", EVENT_HEADER, [event("new", bad)])
    write_csv(landing_dir / f"events/{bad}_retry.csv", ["event_id", "event_name"], [["x", "app_open"]])
    write_csv(landing_dir / f"events/{last}.csv", EVENT_HEADER, [event("c1", last)])
    conn, results = ingest()

    assert [(d.landing_date, d.error is None, len(d.files)) for d in results] == [
        (first, True, 1),
        (bad, False, 0),
        (last, True, 1),
    ]
    assert f"{bad}_retry.csv" in results[1].error and "missing required column(s)" in results[1].error
    # the bad day is left as it was, none of its new files loaded; the other days are loaded
    assert conn.execute("select event_id from raw.events order by 1").fetchall() == [("a1",), ("c1",), ("old",)]
    quarantined = conn.execute("select row_number, reason from raw.quarantine").fetchall()
    assert quarantined == [(2, "unknown platform: nokia")]
    # the log has one row per loaded file, and its counts reconcile with what landed
    log = conn.execute(
        "select file, rows_read, rows_loaded, rows_quarantined from raw.ingestion_log order by file"
    ).fetchall()
    assert log == [
        (str(landing_dir / f"events/{first}.csv"), 2, 1, 1),
        (str(landing_dir / f"events/{bad}.csv"), 1, 1, 0),
        (str(landing_dir / f"events/{last}.csv"), 1, 1, 0),
    ]
    loaded = dict(conn.execute("select _file, count(*) from raw.events group by 1").fetchall())
    assert all(loaded[file] == rows_loaded for file, _, rows_loaded, _ in log)
    assert results[0].rows_read == results[0].rows_loaded + results[0].rows_quarantined == 2
