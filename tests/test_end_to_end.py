"""A generated dataset through the CLI, checked against numbers computed independently.

The reference numbers are computed here in plain Python straight from the
landing files, re-implementing the contract (validity rules, latest order row,
event dedupe, person stitching, Shanghai business days) without DuckDB or dbt.
"""

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import GENERATED_DAYS, GENERATED_START

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLATFORMS = {"ios", "android", "web", "mini_program"}
STATUSES = {"created", "paid", "cancelled", "refunded"}


def records(folder: Path):
    """(landing_date, file, row_number, record with lower-case keys) for every well-formed record."""
    for path in sorted(folder.iterdir()):
        landing = date.fromisoformat(path.name[:10])
        if path.suffix == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle)
                header = [h.strip().lower() for h in next(reader)]
                for number, row in enumerate(reader, start=1):
                    if len(row) == len(header):
                        yield landing, str(path), number, dict(zip(header, row))
        elif path.suffix == ".jsonl":
            for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
                try:
                    obj = json.loads(line) if line.strip() else None
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    yield (
                        landing,
                        str(path),
                        number,
                        {
                            k.lower(): (None if v is None else v if isinstance(v, str) else json.dumps(v))
                            for k, v in obj.items()
                        },
                    )
        elif path.suffix == ".parquet":
            for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
                yield landing, str(path), number, {k.lower(): None if v is None else str(v) for k, v in row.items()}


def text(record, key):
    value = record.get(key)
    value = value.strip() if isinstance(value, str) else value
    return value or None


def instant(value):
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def number(value):
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) else None


def business_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def valid_events(landing: Path):
    for landing_day, file, row, r in records(landing / "events"):
        event_id, name, device = text(r, "event_id"), text(r, "event_name"), text(r, "device_id")
        platform, moment = (text(r, "platform") or "").lower(), instant(text(r, "event_time"))
        props = text(r, "properties")
        if not (event_id and name and device and moment) or platform not in PLATFORMS:
            continue
        if business_day(moment) > landing_day + timedelta(days=1):
            continue
        if props is not None:
            try:
                json.loads(props)
            except ValueError:
                continue
        yield (landing_day, file, row), event_id, moment, device, text(r, "user_id")


def valid_orders(landing: Path):
    for landing_day, file, row, r in records(landing / "orders"):
        status = (text(r, "status") or "").lower()
        amount, refund = number(text(r, "amount")), text(r, "refund_amount")
        stamps = {k: text(r, k) for k in ("created_at", "updated_at", "paid_at", "refunded_at")}
        parsed = {k: instant(v) for k, v in stamps.items()}
        if not (text(r, "order_id") and text(r, "user_id") and status in STATUSES and amount is not None):
            continue
        if any(stamps[k] is not None and parsed[k] is None for k in stamps):
            continue
        if parsed["created_at"] is None or parsed["updated_at"] is None or amount < 0:
            continue
        if refund is not None and (number(refund) is None or not 0 <= number(refund) <= amount):
            continue
        if (text(r, "currency") or "CNY").upper() != "CNY":
            continue
        if status in ("paid", "refunded") and parsed["paid_at"] is None:
            continue
        if status == "refunded" and parsed["refunded_at"] is None:
            continue
        yield (parsed["updated_at"], landing_day, file, row), text(r, "order_id"), amount, parsed


def reference_numbers(landing: Path):
    first_copy = {}
    for position, event_id, moment, device, user in valid_events(landing):
        if event_id not in first_copy or position < first_copy[event_id][0]:
            first_copy[event_id] = (position, moment, device, user)
    device_user = {}
    for _, _moment, device, user in sorted(first_copy.values(), key=lambda e: (e[1], e[0])):
        if user and device not in device_user:
            device_user[device] = user
    persons = defaultdict(set)
    for _, moment, device, user in first_copy.values():
        persons[business_day(moment)].add(user or device_user.get(device) or "d:" + device)
    dau = {day: len(people) for day, people in persons.items()}

    latest = {}
    for version, order_id, amount, stamps in valid_orders(landing):
        if order_id not in latest or version > latest[order_id][0]:
            latest[order_id] = (version, amount, stamps)
    paid_gmv, orders = defaultdict(float), defaultdict(int)
    for _, amount, stamps in latest.values():
        orders[business_day(stamps["created_at"])] += 1
        if stamps["paid_at"]:
            paid_gmv[business_day(stamps["paid_at"])] += amount
    return dau, paid_gmv, orders


def test_cli_run_succeeds_and_summarises(generated_run):
    assert generated_run.exit_code == 0, generated_run.output
    out = generated_run.output
    assert "succeeded" in out and "Quarantined rows by reason" in out and "Headline numbers of" in out
    manifest = json.loads((generated_run.landing / "manifest.json").read_text(encoding="utf-8"))
    with duckdb.connect(str(generated_run.warehouse), read_only=True) as conn:
        logged = dict(conn.execute("select source, sum(rows_read) from raw.ingestion_log group by source").fetchall())
        reconciles = conn.execute(
            "select bool_and(rows_read = rows_loaded + rows_quarantined) from raw.ingestion_log"
        ).fetchone()[0]
        quarantined = dict(conn.execute("select source, count(*) from raw.quarantine group by source").fetchall())
        metric_dates = {row[0] for row in conn.execute("select distinct date from marts.metrics_daily").fetchall()}
        evaluated = {row[0] for row in conn.execute("select distinct date from monitoring.evaluations").fetchall()}
    assert reconciles
    # the run's own monitoring/evaluations step evaluated the dates it built (landing days and lookback)
    first = GENERATED_START - timedelta(days=3)
    last = GENERATED_START + timedelta(days=GENERATED_DAYS - 1)
    assert evaluated == {d for d in metric_dates if first <= d <= last} and len(evaluated) >= GENERATED_DAYS
    assert "Alerts for the dates built: " in out
    for source, by_day in manifest["rows"].items():
        assert logged[source] == sum(by_day.values()), source
        # every injected contract-breaking row was quarantined, nothing else
        assert quarantined.get(source, 0) == sum(manifest["bad_rows"].get(source, {}).values()), source


def test_headline_numbers_equal_an_independent_computation(generated_run):
    assert generated_run.exit_code == 0, generated_run.output
    dau, paid_gmv, orders = reference_numbers(generated_run.landing)
    with duckdb.connect(str(generated_run.warehouse), read_only=True) as conn:
        marts = conn.execute("select date, dau, paid_gmv, orders from marts.kpi_daily order by date").fetchall()
    assert len(marts) == len({d for d, *_ in marts}) >= 20
    for day, mart_dau, mart_gmv, mart_orders in marts:
        assert mart_dau == dau.get(day, 0), day
        assert mart_orders == orders.get(day, 0), day
        assert mart_gmv == pytest.approx(paid_gmv.get(day, 0.0), rel=1e-9, abs=1e-6), day


def test_dbt_tables_carry_row_counts_and_dbt_tests_are_asset_checks(generated_run):
    """In the Dagster run: every table dbt built has a materialisation whose row count is the
    table's, and every generic dbt test of the manifest was evaluated as an asset check."""
    from dagster import AssetKey, DagsterEventType, DagsterInstance

    from ops_pipeline.dbt_resource import dbt_project

    instance = DagsterInstance.from_config(str(generated_run.warehouse.parent / "dagster_home"))
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    models = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["config"]["materialized"] != "view"
    ]
    generic_tests = {
        n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test" and n.get("test_metadata")
    }
    with duckdb.connect(str(generated_run.warehouse), read_only=True) as conn:
        rows = {
            (m["schema"], m["name"]): conn.execute(f'select count(*) from "{m["schema"]}"."{m["name"]}"').fetchone()[0]
            for m in models
        }
    assert len(rows) >= 20 and sum(rows.values()) > 0
    for (schema, name), count in rows.items():
        event = instance.get_latest_materialization_event(AssetKey([schema, name]))
        assert event is not None, (schema, name)
        assert event.asset_materialization.metadata["dagster/row_count"].value == count, (schema, name)

    # The pipeline run, then the weekly report of the week it completed (test_weekly_report.py).
    assert sorted(r.job_name for r in instance.get_runs()) == ["pipeline", "weekly_report"]
    (run,) = [r for r in instance.get_runs() if r.job_name == "pipeline"]
    evaluated = {
        record.dagster_event.event_specific_data.check_name
        for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    assert len(generic_tests) >= 100
    assert generic_tests <= evaluated, sorted(generic_tests - evaluated)[:5]


def test_the_installed_command_ends_cleanly(generated_run, tmp_path):
    """`ops-pipeline run` as the console script a user types: one more landing day on a copy of
    the warehouse. Its exit status is main()'s, stderr stays empty (no teardown noise from
    duckdb's bindings at exit), and no DuckDB write-ahead log is left behind."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(generated_run.warehouse, warehouse)
    last_day = (GENERATED_START + timedelta(days=GENERATED_DAYS - 1)).isoformat()
    command = Path(sys.executable).parent / "ops-pipeline"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    done = subprocess.run(
        [
            str(command),
            "run",
            "--landing",
            str(generated_run.landing),
            "--warehouse",
            str(warehouse),
            "--start",
            last_day,
            "--end",
            last_day,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "succeeded" in done.stdout
    assert done.stderr == ""
    assert sorted(p.name for p in tmp_path.rglob("*.wal")) == []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select max(date) from marts.kpi_daily").fetchone()[0] == date.fromisoformat(last_day)
