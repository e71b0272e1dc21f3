"""Issue 15, the ingestion cases: far-future landing days and dates, personal data and renamed
columns among the extras, values whose meaning would change, empty files, and files that are not
the landing folder's own. Real files, a real DuckDB warehouse, real dbt; every expected value is
worked out by hand in the comments."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops_pipeline import landing, warehouse
from ops_pipeline.ingest import ingest_range
from ops_pipeline.pipeline import PipelineError, landing_range
from ops_pipeline.settings import Settings

ZONE = "Asia/Shanghai"
SALT = "hardening-salt"
DAY = date(2026, 11, 1)
DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

EVENT_HEADER = ["event_id", "event_time", "event_name", "device_id", "platform"]
ORDER_HEADER = ["order_id", "user_id", "created_at", "updated_at", "status", "amount", "paid_at"]
T = "2026-11-01T10:00:00+08:00"
SPEND_HEADER = ["date", "channel", "campaign_id", "impressions", "clicks", "spend"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def events(n: int, day: str = "2026-11-01") -> list[list[str]]:
    return [[f"e{i}", f"{day}T0{i}:00:00Z", "app_open", f"d{i}", "ios"] for i in range(1, n + 1)]


def load(landing_dir: Path, wh_path: Path, source: str, day: date = DAY):
    conn = warehouse.connect(wh_path)
    warehouse.ensure_raw_schema(conn)
    files = landing.scan(landing_dir, source).by_source_day().get(source, {})
    results = ingest_range(conn, source, day, day, files, timezone_name=ZONE, pii_salt=SALT)
    return conn, results


def hashed(value: str) -> str:
    return hashlib.sha256((SALT + value).encode()).hexdigest()


def reasons(conn, source: str) -> dict[int, str]:
    query = "select row_number, reason from raw.quarantine where source = ? order by row_number"
    return dict(conn.execute(query, [source]).fetchall())


def reconciled(conn) -> list[tuple]:
    """Files whose log does not add up, or whose rows in raw / quarantine differ from the log."""
    return conn.execute(
        "select l.source, l.file from raw.ingestion_log l "
        "where l.rows_read <> l.rows_loaded + l.rows_quarantined "
        "or l.rows_quarantined <> (select count(*) from raw.quarantine q where q.file = l.file)"
    ).fetchall()


# --- 1. far-future landing days and dates ------------------------------------------------------


def test_scan_refuses_a_landing_day_later_than_tomorrow_in_the_reporting_zone(tmp_path):
    # 2026-11-10 20:00 UTC is 2026-11-11 04:00 in Shanghai: tomorrow there is Nov 12 (in UTC, Nov 11).
    now = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
    for name in ("2026-11-11.csv", "2026-11-12.csv", "2026-11-13.csv", "9999-01-01.csv"):
        write_csv(tmp_path / "landing/events" / name, EVENT_HEADER, events(1))
    found = landing.scan(tmp_path / "landing", timezone=ZONE, now=now)
    assert [f.path.name for f in found.files] == ["2026-11-11.csv", "2026-11-12.csv"]
    assert [s.path.name for s in found.refused] == ["2026-11-13.csv", "9999-01-01.csv"]
    assert "landing day 2026-11-13 is later than tomorrow (2026-11-12) in Asia/Shanghai" in found.refused[0].reason
    assert any("9999-01-01.csv" in line and line.startswith("refused ") for line in found.warnings())
    # In UTC, Nov 12 is already the day after tomorrow.
    in_utc = landing.scan(tmp_path / "landing", timezone="UTC", now=now)
    assert [s.path.name for s in in_utc.refused] == ["2026-11-12.csv", "2026-11-13.csv", "9999-01-01.csv"]


def test_run_refuses_a_landing_folder_with_a_far_future_file(tmp_path):
    write_csv(tmp_path / "landing/events/2026-11-01.csv", EVENT_HEADER, events(3))
    future = write_csv(tmp_path / "landing/events/9999-01-01.csv", EVENT_HEADER, events(3))
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "w.duckdb", partition_start="2026-01-01")
    with pytest.raises(PipelineError) as refused:
        landing_range(settings, None, None)
    assert str(future) in str(refused.value) and "later than tomorrow" in str(refused.value)
    # Named ranges too: nothing would ever load the file or say so otherwise.
    with pytest.raises(PipelineError, match=r"9999-01-01\.csv"):
        landing_range(settings, date(2026, 11, 1), date(2026, 11, 1))
    future.unlink()
    assert landing_range(settings, None, None) == (date(2026, 11, 1), date(2026, 11, 1))


def test_what_changed_and_the_landing_sensor_refuse_a_far_future_file_too(tmp_path):
    """`ops-pipeline run` without a range, the landing sensor and the schedule build what changed:
    a far-future file stops them as it stops a range, naming the file."""
    from dagster import DagsterInstance, RunRequest, SkipReason
    from ops_pipeline.sensors.landing import build_request

    from ops_pipeline.pipeline import days_to_build

    write_csv(tmp_path / "landing/events/2026-11-01.csv", EVENT_HEADER, events(3))
    future = write_csv(tmp_path / "landing/events/9999-01-01.csv", EVENT_HEADER, events(3))
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "w.duckdb", partition_start="2026-01-01")
    with DagsterInstance.ephemeral() as instance:
        with pytest.raises(PipelineError, match=r"9999-01-01\.csv.*later than tomorrow"):
            days_to_build(settings, instance, None, None, everything=False)
        skipped = build_request(settings, instance, date(2026, 1, 1), 0.0)
        assert isinstance(skipped, SkipReason) and str(future) in skipped.skip_message
        future.unlink()
        assert days_to_build(settings, instance, None, None, everything=False) == (DAY, DAY)
        assert isinstance(build_request(settings, instance, date(2026, 1, 1), 0.0), RunRequest)


def test_orders_dated_far_ahead_of_their_landing_day_are_quarantined(tmp_path):
    rows = [
        ["o1", "u1", T, T, "paid", "10", T],  # loads
        ["o2", "u1", "9999-01-01T00:00:00Z", T, "created", "10", ""],
        ["o3", "u1", T, T, "paid", "10", "9999-12-31T10:00:00+08:00"],
        # 2026-11-02 15:59:59Z is 23:59:59 on Nov 2 in Shanghai, landing day + 1: allowed.
        ["o4", "u1", T, "2026-11-02T15:59:59Z", "created", "10", ""],
        # 16:00:00Z is Nov 3 in Shanghai: two days after the landing day.
        ["o5", "u1", T, "2026-11-02T16:00:00Z", "created", "10", ""],
    ]
    write_csv(tmp_path / "landing/orders/2026-11-01.csv", ORDER_HEADER, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "orders")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (5, 2, 3)
    assert reasons(conn, "orders") == {
        2: "created_at more than one day after landing day: 9999-01-01T00:00:00Z landed 2026-11-01",
        3: "paid_at more than one day after landing day: 9999-12-31T10:00:00+08:00 landed 2026-11-01",
        5: "updated_at more than one day after landing day: 2026-11-02T16:00:00Z landed 2026-11-01",
    }
    assert [o for (o,) in conn.execute("select order_id from raw.orders order by 1").fetchall()] == ["o1", "o4"]


def test_spend_and_registrations_dated_ahead_are_quarantined(tmp_path):
    write_csv(
        tmp_path / "landing/channel_spend/2026-11-01.csv",
        SPEND_HEADER,
        [["2026-11-02", "douyin_ads", "c1", "10", "1", "5"], ["2026-11-03", "douyin_ads", "c2", "10", "1", "5"]],
    )
    write_csv(
        tmp_path / "landing/users/2026-11-01.csv",
        ["user_id", "registered_at"],
        [["u1", "2026-11-01T08:00:00Z"], ["u2", "2300-01-01T00:00:00Z"]],
    )
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "channel_spend")
    assert reasons(conn, "channel_spend") == {
        2: "date more than one day after landing day: 2026-11-03 landed 2026-11-01"
    }
    conn.close()
    conn, _ = load(tmp_path / "landing", tmp_path / "wh.duckdb", "users")
    assert reasons(conn, "users") == {
        2: "registered_at more than one day after landing day: 2300-01-01T00:00:00Z landed 2026-11-01"
    }


def _dbt(tmp_path: Path, wh: Path, *args: str) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt if dbt.exists() else shutil.which("dbt")), *args]
    command += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    command += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    env = {**os.environ, "OPS_WAREHOUSE": str(wh), "OPS_TIMEZONE": ZONE}
    env.pop("OPS_DBT_MIN_DATE", None), env.pop("OPS_DBT_MAX_DATE", None)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_raw_rows_of_a_far_future_landing_day_do_not_widen_the_date_spine(tmp_path):
    """Rows loaded for 9999-01-01 before ingestion refused such days: the span of reporting dates
    still ends on the last real landing day, Nov 2 (it ran to 2300-08-16, day 99,999 after Nov 1)."""
    wh = tmp_path / "w.duckdb"
    write_csv(tmp_path / "landing/events/2026-11-01.csv", EVENT_HEADER, events(2))
    write_csv(tmp_path / "landing/events/2026-11-02.csv", EVENT_HEADER, events(1, "2026-11-02"))
    write_csv(tmp_path / "landing/events/9999-01-01.csv", EVENT_HEADER, events(3))
    conn = warehouse.connect(wh)
    warehouse.ensure_raw_schema(conn)
    # As the old scan delivered the day: ingest_range itself loads whatever it is given.
    files = {
        f.landing_date: [f]
        for f in [
            landing.LandingFile("events", date.fromisoformat(p.stem), p, "csv")
            for p in sorted((tmp_path / "landing/events").iterdir())
        ]
    }
    for day in files:
        ingest_range(conn, "events", day, day, files, timezone_name=ZONE, pii_salt=SALT)
    assert conn.execute("select max(_landing_date) from raw.events").fetchone() == (date(9999, 1, 1),)
    conn.close()
    _dbt(tmp_path, wh, "run", "--select", "int_business_dates_spanned")
    with warehouse.connect(wh, read_only=True) as conn:
        spine = conn.execute(
            "select min(date), max(date), count(*) from intermediate.int_business_dates_spanned"
        ).fetchone()
    assert spine == (date(2026, 11, 1), date(2026, 11, 2), 2)


def test_the_date_spine_reaches_tomorrow_but_not_beyond(tmp_path):
    """A landing day of tomorrow (reporting zone) counts, the day after does not."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    wh = tmp_path / "w.duckdb"
    conn = warehouse.connect(wh)
    warehouse.ensure_raw_schema(conn)
    for day in (today - timedelta(days=1), today + timedelta(days=1), today + timedelta(days=2)):
        conn.execute(
            "insert into raw.ingestion_log (source, file, landing_date) values ('events', ?, ?)", [f"{day}.csv", day]
        )
    conn.close()
    _dbt(tmp_path, wh, "run", "--select", "int_business_dates_spanned")
    with warehouse.connect(wh, read_only=True) as conn:
        assert conn.execute("select max(date), count(*) from intermediate.int_business_dates_spanned").fetchone() == (
            today + timedelta(days=1),
            3,
        )


# --- 2. personal data, renamed columns, values that would change -------------------------------


def test_personal_extra_columns_are_hashed_by_name_and_by_value(tmp_path):
    header = ["user_id", "registered_at", "phone_number", "email_address", "身份证号", "contact", "note", "invite_code"]
    rows = [
        # contact: an 11-digit mobile number with dashes; note: text with an e-mail address; invite_code: neither.
        [
            *("u1", "2026-11-01T01:00:00Z", "13812345678", "a@example.com", "11010519900307123X", "138-0013-8000"),
            *("mail me: b@example.org", "SPRING26"),
        ],
        # note holds an 18-character ID number with a valid birth date; contact a plain word.
        ["u2", "2026-11-01T02:00:00Z", "13900000000", "c@example.com", "", "wechat", "110105199003071234", "X"],
        # registered_at missing: quarantined, and its record must not hold the clear values either.
        ["u3", "", "13700000000", "d@example.com", "440301200001011234", "e@example.net", "hi", "Y"],
    ]
    write_csv(tmp_path / "landing/users/2026-11-01.csv", header, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "users")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (3, 2, 1)
    extras = dict(conn.execute("select user_id, _extra from raw.users order by 1").fetchall())
    assert json.loads(extras["u1"]) == {
        "phone_number": hashed("13812345678"),
        "email_address": hashed("a@example.com"),
        "身份证号": hashed("11010519900307123X"),
        "contact": hashed("138-0013-8000"),
        "note": hashed("mail me: b@example.org"),  # the whole value: the address is part of a text
        "invite_code": "SPRING26",
    }
    assert json.loads(extras["u2"]) == {
        "phone_number": hashed("13900000000"),
        "email_address": hashed("c@example.com"),
        "身份证号": None,
        "contact": "wechat",
        "note": hashed("110105199003071234"),
        "invite_code": "X",
    }
    (record,) = conn.execute("select record from raw.quarantine").fetchone()
    assert json.loads(record) == {
        "user_id": "u3",
        "registered_at": None,  # an empty CSV field reads as NULL
        "phone_number": hashed("13700000000"),
        "email_address": hashed("d@example.com"),
        "身份证号": hashed("440301200001011234"),
        "contact": hashed("e@example.net"),
        "note": "hi",
        "invite_code": "Y",
    }
    everything = str(conn.execute("select * from raw.users").fetchall()) + str(
        conn.execute("select * from raw.quarantine").fetchall()
    )
    clear = ("13812345678", "a@example.com", "0307123X", "138-0013-8000", "b@example", "110105199003071234", "e@ex")
    assert not [value for value in clear if value in everything]
    warnings = [str(w) for w in day.files[0].warnings]
    assert warnings == [
        # phone and email are optional contract columns: missing, with look-alikes present.
        "schema_drift: contract column phone is missing but the file has phone_number: phone is NULL on every "
        "row and phone_number is kept only in _extra (renamed in the export?)",
        "schema_drift: contract column email is missing but the file has email_address: email is NULL on every "
        "row and email_address is kept only in _extra (renamed in the export?)",
        "personal_data: extra column(s) phone_number, email_address, 身份证号 look like personal data by name: "
        "hashed in _extra",
        # contact: u1's mobile number and u3's e-mail address; note: u1's address in text and u2's ID number.
        "personal_data: extra column contact: 2 value(s) look like personal data (mobile number / e-mail address / "
        "ID number): hashed in _extra",
        "personal_data: extra column note: 2 value(s) look like personal data (mobile number / e-mail address / "
        "ID number): hashed in _extra",
    ]


def test_a_renamed_optional_column_is_a_schema_drift_warning(tmp_path):
    header = ["event_id", "event_time", "event_name", "device_id", "platform", "utm_channel"]
    rows = [["e1", "2026-11-01T01:00:00Z", "app_open", "d1", "ios", "douyin_ads"]]
    path = write_csv(tmp_path / "landing/events/2026-11-01.csv", header, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert conn.execute("select channel, _extra from raw.events").fetchone() == (None, '{"utm_channel":"douyin_ads"}')
    (warning,) = day.files[0].warnings
    assert warning.kind == "schema_drift"
    assert "contract column channel is missing but the file has utm_channel" in warning.message
    # Recorded with the file, where the run's summary and people can read it.
    assert conn.execute("select source, file, landing_date, kind, message from raw.ingestion_warnings").fetchall() == [
        ("events", str(path), DAY, "schema_drift", warning.message)
    ]
    # Restating the day replaces its warnings: the corrected file has none.
    write_csv(path, [*header[:-1], "channel"], rows)
    conn.close()
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert day.warnings == [] and conn.execute("select count(*) from raw.ingestion_warnings").fetchone() == (0,)
    assert conn.execute("select channel from raw.events").fetchone() == ("douyin_ads",)


def test_a_renamed_required_column_names_the_look_alike(tmp_path):
    header = ["event_id", "event_timestamp", "event_name", "device_id", "platform"]
    write_csv(tmp_path / "landing/events/2026-11-01.csv", header, events(1))
    _, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert day.error.endswith(
        "2026-11-01.csv: missing required column(s) event_time (the file has event_timestamp: renamed?)"
    )


def test_numbers_that_would_change_on_the_way_in_are_quarantined(tmp_path):
    rows = [
        ["2026-11-01", "a", "c1", "100", "12", "5.5"],  # loads
        ["2026-11-01", "a", "c2", "12.7", "1", "5"],  # DuckDB would round 12.7 to 13 impressions
        ["2026-11-01", "a", "c3", "10", "-0.4", "5"],  # would be 0 clicks and pass the negative check
        ["2026-11-01", "a", "c4", "1e3", "1", "5"],  # exponent: Excel's 1E+03 may have lost digits
        ["2026-11-01", "a", "c5", "0x1F", "1", "5"],  # would be 31
        ["2026-11-01", "a", "c6", "100.0", "1", "0.30000000000000004"],  # 100 exactly; the double round-trips
        ["2026-11-01", "a", "c7", "10", "1", "12345678901234567.89"],  # 19 digits: a double keeps ~16
        ["2026-11-01", "a", "c8", "10", "1", "1_000"],  # DuckDB reads 1000
    ]
    write_csv(tmp_path / "landing/channel_spend/2026-11-01.csv", SPEND_HEADER, rows)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "channel_spend")
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (8, 2, 6)
    assert reasons(conn, "channel_spend") == {
        2: "impressions is not a valid integer: 12.7",
        3: "clicks is not a valid integer: -0.4",
        4: "impressions is not a valid integer: 1e3",
        5: "impressions is not a valid integer: 0x1F",
        7: "spend has more digits than a double keeps: 12345678901234567.89 would be stored as 1.2345678901234568e+16",
        8: "spend is not a valid decimal: 1_000",
    }
    loaded = conn.execute("select campaign_id, impressions, clicks, spend from raw.channel_spend order by 1").fetchall()
    assert loaded == [("c1", 100, 12, 5.5), ("c6", 100, 1, 0.30000000000000004)]


# --- 3. empty files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("2026-11-01_part2.csv", b"", "0 bytes"),
        ("2026-11-01_part2.csv", b"\xef\xbb\xbf\r\n", "5 bytes, nothing but white space"),
        ("2026-11-01_part2.jsonl", b"\n\n", "2 bytes, nothing but white space"),
        ("2026-11-01_part2.parquet", b"", "0 bytes"),
    ],
)
def test_an_empty_file_delivers_no_rows_and_the_day_loads(tmp_path, name, content, what):
    good = write_csv(tmp_path / "landing/events/2026-11-01.csv", EVENT_HEADER, events(2))
    empty = tmp_path / "landing/events" / name
    empty.write_bytes(content)
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert day.error is None
    assert (day.rows_read, day.rows_loaded, day.rows_quarantined) == (2, 2, 0)
    log = conn.execute("select file, rows_read, rows_loaded, rows_quarantined from raw.ingestion_log order by 1")
    assert log.fetchall() == [(str(good), 2, 2, 0), (str(empty), 0, 0, 0)]
    assert day.warnings == [f"{empty}: empty_file: the file is empty ({what}): no header, no rows; loaded as no rows"]
    assert conn.execute("select file, kind from raw.ingestion_warnings").fetchall() == [(str(empty), "empty_file")]


def test_a_day_of_only_an_empty_file_is_a_day_without_rows(tmp_path):
    (tmp_path / "landing/orders").mkdir(parents=True)
    (tmp_path / "landing/orders/2026-11-01.csv").write_bytes(b"")
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "orders")
    assert day.error is None and (day.rows_read, day.rows_loaded) == (0, 0)
    assert conn.execute("select count(*) from raw.ingestion_log where landing_date = ?", [DAY]).fetchone() == (1,)


def test_json_lines_that_are_all_malformed_are_quarantined_not_a_missing_column(tmp_path):
    path = tmp_path / "landing/events/2026-11-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('["not", "an", "object"]\n42\n', encoding="utf-8")
    conn, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert day.error is None and (day.rows_read, day.rows_loaded, day.rows_quarantined) == (2, 0, 2)
    assert reasons(conn, "events") == {
        1: "malformed JSON line: not a JSON object",
        2: "malformed JSON line: not a JSON object",
    }
    assert reconciled(conn) == []


# --- 4. files that are not the landing folder's own ---------------------------------------------


def test_a_link_out_of_the_landing_folder_is_refused_and_not_read(tmp_path):
    outside = write_csv(tmp_path / "elsewhere/secrets.csv", EVENT_HEADER, events(1))
    inside = write_csv(tmp_path / "landing/archive/2026-11-01.csv", EVENT_HEADER, events(2))
    folder = tmp_path / "landing/events"
    folder.mkdir(parents=True)
    (folder / "2026-11-01.csv").symlink_to(outside)
    (folder / "2026-11-02.csv").symlink_to(inside)  # within the landing folder: its own file
    found = landing.scan(tmp_path / "landing")
    assert [f.path.name for f in found.files] == ["2026-11-02.csv"]
    (refused,) = found.refused
    assert refused.path == folder / "2026-11-01.csv" and "resolves outside the landing folder" in refused.reason
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "w.duckdb", partition_start="2026-01-01")
    with pytest.raises(PipelineError, match=r"events/2026-11-01\.csv: resolves outside the landing folder"):
        landing_range(settings, None, None)
    # Ingestion gets only the folder's own files: nothing of secrets.csv is read.
    _, (day,) = load(tmp_path / "landing", tmp_path / "wh.duckdb", "events")
    assert (day.rows_read, day.files) == (0, [])


def test_a_source_folder_that_is_a_link_out_is_refused(tmp_path):
    write_csv(tmp_path / "elsewhere/2026-11-01.csv", EVENT_HEADER, events(1))
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing/events").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = landing.scan(tmp_path / "landing")
    assert found.files == [] and [s.path.name for s in found.refused] == ["events"]


def test_entries_not_named_like_landing_files_are_reported(tmp_path, caplog):
    folder = tmp_path / "landing/orders"
    write_csv(folder / "2026-11-01.csv", ORDER_HEADER, [])
    for name in ("orders_2026-11-02.csv", "2026-11-02.xlsx", "2026-13-01.csv", ".2026-11-03.csv.part"):
        (folder / name).write_text("x")
    (folder / "2026-11-04").mkdir()
    (folder / "2026-11-05.csv").symlink_to(folder / "missing.csv")
    found = landing.scan(tmp_path / "landing")
    assert [f.path.name for f in found.files] == ["2026-11-01.csv"]
    ignored = {s.path.name: s.reason for s in found.ignored}
    assert sorted(ignored) == [
        ".2026-11-03.csv.part",
        "2026-11-02.xlsx",
        "2026-11-04",
        "2026-11-05.csv",
        "2026-13-01.csv",
        "orders_2026-11-02.csv",
    ]
    assert ignored["2026-11-02.xlsx"].startswith("not named <YYYY-MM-DD><anything>.<csv|jsonl|parquet>")
    assert ignored["2026-11-04"].startswith("a folder inside a source folder")
    assert ignored["2026-11-05.csv"] == "a broken link: not read"
    assert found.refused == []
    # A run still starts, and says what it left alone.
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "w.duckdb", partition_start="2026-01-01")
    with caplog.at_level("WARNING", logger="ops_pipeline.pipeline"):
        assert landing_range(settings, None, None) == (DAY, DAY)
    assert sum("landing folder: ignored" in r.getMessage() for r in caplog.records) == 6
