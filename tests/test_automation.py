"""It runs by itself: what changed, the landing sensor, one writer at a time, dead runs, deadlines.

The daemon test starts the real `dagster dev` (webserver and daemon) on a
warehouse of its own, copies a new day's files into the landing folder and
waits for that day in the serving database; then it kills a run's process with
SIGKILL and waits for run monitoring to mark it failed and for the announcement.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunRequest, build_sensor_context

from ops_pipeline.settings import PROJECT_ROOT, Settings
from tests.table_compare import same_row, sorted_rows

START = date(2026, 10, 1)
DAYS = 7
USERS = 250
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from ops_pipeline.generator import generate

    out = tmp_path_factory.mktemp("automation") / "full"
    generate(out, START, DAYS, USERS, seed=5)
    return out


def copy_days(full: Path, landing: Path, days) -> None:
    """Copy the files of these landing days (all sources) from the generated folder."""
    for path in full.glob("*/*"):
        if path.parent.name != path.name and path.is_file() and date.fromisoformat(path.name[:10]) in days:
            target = landing / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def first_days(n: int) -> list[date]:
    return [START + timedelta(days=k) for k in range(n)]


def settings_for(root: Path, **overrides) -> Settings:
    base = Settings.from_env({})
    return replace(
        base,
        landing_dir=root / "landing",
        warehouse=root / "warehouse.duckdb",
        **overrides,
    )


def env_for(settings: Settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "DAGSTER_", "SLACK_"))}
    return {
        **env,
        "OPS_LANDING_DIR": str(settings.landing_dir),
        "OPS_WAREHOUSE": str(settings.warehouse),
        **extra,
    }


def marts(path: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = [
            n for (n,) in conn.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        ]
        return {n: sorted_rows(conn.execute(f'select * from marts."{n}"').fetchall()) for n in names}


def assert_same_marts(left: Path, right: Path) -> None:
    a, b = marts(left), marts(right)
    assert sorted(a) == sorted(b)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        assert all(same_row(x, y) for x, y in zip(a[name], b[name], strict=True)), name


def test_changes_are_the_new_and_restated_days_and_nothing_else(generated, tmp_path):
    from ops_pipeline.changes import landing_changes
    from ops_pipeline.instance import dagster_instance
    from ops_pipeline.pipeline import NothingToBuild, run

    settings = settings_for(tmp_path)
    copy_days(generated, settings.landing_dir, first_days(5))
    instance = dagster_instance(settings)
    assert landing_changes(settings, instance).days == first_days(5)  # nothing built yet

    built = run(settings)
    assert built.success and (built.first_day, built.last_day) == (START, START + timedelta(days=4))
    assert landing_changes(settings, instance).days == []
    with pytest.raises(NothingToBuild, match="nothing to build"):
        run(settings)

    # Touched, same content: not a change. A new day and a restated day are; their fingerprint is stable.
    orders = sorted((settings.landing_dir / "orders").glob(f"{START + timedelta(days=1)}*"))[0]
    os.utime(orders, None)
    assert landing_changes(settings, instance).days == []
    copy_days(generated, settings.landing_dir, [START + timedelta(days=5)])
    lines = orders.read_text().splitlines(keepends=True)
    orders.write_text("".join(lines[:-1]))  # the restatement drops the day's last order
    changes = landing_changes(settings, instance)
    assert changes.days == [START + timedelta(days=1), START + timedelta(days=5)]
    assert changes.fingerprint == landing_changes(settings, instance).fingerprint
    day_files = {str(p) for p in settings.landing_dir.glob(f"*/{START + timedelta(days=1)}*")}
    assert day_files <= {path for path, _ in changes.files}

    # A file written a moment ago is still arriving: left for later.
    assert landing_changes(settings, instance, settle_seconds=3600).days == []

    # The day 2..6 run: ingested day 2 again (one order fewer), day 6 for the first time.
    rerun = run(settings)
    assert rerun.success and (rerun.first_day, rerun.last_day) == (START + timedelta(days=1), START + timedelta(days=5))
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        loaded = dict(
            conn.execute(
                "select landing_date, sum(rows_loaded) from raw.ingestion_log where source = 'orders' group by 1"
            ).fetchall()
        )
        raw_orders = conn.execute(
            "select count(*) from raw.orders where _landing_date = ?", [START + timedelta(days=1)]
        ).fetchone()[0]
    assert raw_orders == loaded[START + timedelta(days=1)]
    assert sorted(loaded) == first_days(6)


def test_a_day_whose_run_failed_is_built_again(generated, tmp_path):
    from ops_pipeline.changes import landing_changes
    from ops_pipeline.instance import dagster_instance
    from ops_pipeline.pipeline import run

    settings = settings_for(tmp_path)
    copy_days(generated, settings.landing_dir, first_days(3))
    assert run(settings).success
    instance = dagster_instance(settings)
    # The run that loaded day 3 is recorded as failed (as if dbt had failed after ingestion).
    with duckdb.connect(str(settings.warehouse)) as conn:
        (run_id,) = conn.execute("select distinct run_id from raw.ingestion_log").fetchone()
    instance.report_run_failed(instance.get_run_by_id(run_id), "dbt failed")
    assert landing_changes(settings, instance).days == first_days(3)


def test_the_landing_sensor_requests_one_run_per_delivery(generated, tmp_path):
    from ops_pipeline.definitions import build_definitions
    from ops_pipeline.instance import dagster_instance
    from ops_pipeline.partitions import range_tags
    from ops_pipeline.pipeline import run

    settings = settings_for(tmp_path, landing_settle_seconds=0.0)
    copy_days(generated, settings.landing_dir, first_days(4))
    assert run(settings).success
    copy_days(generated, settings.landing_dir, [START + timedelta(days=4)])
    defs = build_definitions(settings)
    sensor = defs.get_sensor_def("build_landed_files")
    instance = dagster_instance(settings)
    with build_sensor_context(instance=instance, definitions=defs) as context:
        first = sensor(context)
        again = sensor(context)
    assert isinstance(first, RunRequest)
    assert first.tags == range_tags(START + timedelta(days=4), START + timedelta(days=4))
    assert again.run_key == first.run_key  # the same delivery: Dagster launches it once
    # A restatement of the same day is another delivery.
    users = sorted((settings.landing_dir / "users").glob(f"{START + timedelta(days=4)}*"))[0]
    users.write_text(users.read_text() + "\n")
    with build_sensor_context(instance=instance, definitions=defs) as context:
        restated = sensor(context)
    assert isinstance(restated, RunRequest) and restated.run_key != first.run_key
    # A new day waits for every source in use: here, the orders of day 6.
    copy_days(generated, settings.landing_dir, [START + timedelta(days=5)])
    for path in settings.landing_dir.glob(f"orders/{START + timedelta(days=5)}*"):
        path.unlink()
    with build_sensor_context(instance=instance, definitions=defs) as context:
        waiting = sensor(context)
    assert isinstance(waiting, RunRequest)  # the restated day 5 still goes; day 6 does not
    assert waiting.tags == range_tags(START + timedelta(days=4), START + timedelta(days=4))
    # The job tags every run with its warehouse: the queue's limit is per warehouse.
    assert defs.resolve_job_def("pipeline").tags["ops_pipeline/warehouse"] == str(settings.warehouse)
    assert defs.get_schedule_def("daily_pipeline").default_status.value == "STOPPED"


def test_two_command_line_runs_take_turns(generated, tmp_path):
    single = settings_for(tmp_path / "single")
    copy_days(generated, single.landing_dir, first_days(3))
    subprocess.run([BIN / "ops-pipeline", "run", "-q"], env=env_for(single), check=True, capture_output=True)

    settings = settings_for(tmp_path / "twice")
    copy_days(generated, settings.landing_dir, first_days(3))
    command = [BIN / "ops-pipeline", "run", "--all"]
    first = subprocess.Popen(
        command, env=env_for(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _wait_for(lambda: settings.warehouse.with_name("warehouse.duckdb.writer.lock").exists(), 120)
    time.sleep(1.0)
    second = subprocess.Popen(
        command, env=env_for(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out_first, out_second = first.communicate(timeout=600)[0], second.communicate(timeout=600)[0]
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    holder = settings.warehouse.with_name("warehouse.duckdb.writer.lock")
    assert "waiting for run " in out_second and "to finish" in out_second, out_second
    assert "Could not set lock" not in out_first + out_second
    assert holder.exists()
    assert_same_marts(single.warehouse, settings.warehouse)
    # Progress: a line per step, with the rows its assets hold.
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        (events,) = conn.execute("select count(*) from raw.events").fetchone()
    assert f"] raw__events: 1 asset(s), {events:,} rows, " in out_first, out_first
    assert "] dbt_models: " in out_first and "] serving__marts: " in out_first

    # --no-wait refuses, naming the run that holds the warehouse.
    from ops_pipeline.warehouse import writer_lock

    with writer_lock(settings.warehouse, "run-in-the-test"):
        refused = subprocess.run(
            [BIN / "ops-pipeline", "run", "--all", "--no-wait"], env=env_for(settings), capture_output=True, text=True
        )
    assert refused.returncode == 2
    assert "run run-in-the-test is writing this warehouse" in refused.stderr


def test_a_killed_command_line_run_is_marked_failed(generated, tmp_path):
    from ops_pipeline.instance import dagster_instance, fail_dead_runs

    settings = settings_for(tmp_path)
    copy_days(generated, settings.landing_dir, first_days(3))
    process = subprocess.Popen(
        [BIN / "ops-pipeline", "run", "-q"], env=env_for(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    instance = dagster_instance(settings)
    started = _wait_for(lambda: instance.get_runs(), 120)[0]
    _wait_for(lambda: instance.get_run_by_id(started.run_id).status == DagsterRunStatus.STARTED, 60)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert instance.get_run_by_id(started.run_id).status == DagsterRunStatus.STARTED  # nobody said otherwise
    assert fail_dead_runs(instance, settings.warehouse) == [started.run_id]
    assert instance.get_run_by_id(started.run_id).status == DagsterRunStatus.FAILURE


def test_a_source_past_its_deadline_raises_one_pipeline_alert(generated, tmp_path):
    from ops_pipeline.alerts.freshness import late_source_alerts

    monitors = tmp_path / "monitors.yml"
    monitors.write_text(
        Path(Settings.from_env({}).monitors_file).read_text()
        + "\nfreshness:\n  deadline: '10:00'\n  sources:\n    orders: '08:30'\n    kol_posts: off\n"
    )
    settings = settings_for(tmp_path, monitors_file=monitors)
    copy_days(generated, settings.landing_dir, first_days(4))
    last = START + timedelta(days=3)
    for path in settings.landing_dir.glob(f"*/{last}*"):
        if path.parent.name in ("orders", "kol_posts"):
            path.unlink()  # day 4 of orders (watched) and kol_posts (off) never landed
    zone = ZoneInfo(settings.timezone)
    day_after = last + timedelta(days=1)
    assert late_source_alerts(settings, datetime.combine(day_after, datetime.min.time(), zone).replace(hour=8)) == []
    raised = late_source_alerts(settings, datetime.combine(day_after, datetime.min.time(), zone).replace(hour=9))
    assert [(a.monitor, a.date, a.likely_cause, a.kind) for a in raised] == [
        ("freshness:orders", last, "pipeline", "late_source")
    ]
    again = late_source_alerts(settings, datetime.combine(day_after, datetime.min.time(), zone).replace(hour=11))
    assert again == []  # the other sources landed; orders was announced already
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        stored = conn.execute("select monitor, date from monitoring.alert_outbox where kind = 'late_source'").fetchall()
    assert stored == [("freshness:orders", last)]


def _wait_for(condition, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kpi_dates(serving: Path) -> set[date]:
    try:
        with duckdb.connect(str(serving), read_only=True) as conn:
            return {d for (d,) in conn.execute("select date from marts.kpi_daily").fetchall()}
    except duckdb.Error:
        return set()


@pytest.mark.slow
def test_the_daemon_builds_a_landed_day_and_knows_a_killed_run(generated, tmp_path):
    from ops_pipeline.instance import dagster_instance
    from ops_pipeline.pipeline import run

    settings = settings_for(tmp_path)
    copy_days(generated, settings.landing_dir, first_days(5))
    assert run(settings).success
    before = _kpi_dates(settings.serving_path)
    home = settings.dagster_home
    env = env_for(settings, DAGSTER_HOME=str(home), OPS_LANDING_SETTLE_SECONDS="3")
    port = _free_port()
    with open(tmp_path / "dagster_dev.log", "w") as log:  # the child keeps its own descriptor
        ui = subprocess.Popen(
            [BIN / "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)],
            env={**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"},
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        instance = dagster_instance(settings)
        # A new landing day: built and published without anyone starting a run.
        new_day = START + timedelta(days=5)
        copy_days(generated, settings.landing_dir, [new_day])
        landed = time.monotonic()
        _wait_for(lambda: new_day in _kpi_dates(settings.serving_path), 300, interval=2)
        took = time.monotonic() - landed

        def sensor_runs():
            return [r for r in instance.get_runs() if r.tags.get("dagster/sensor_name") == "build_landed_files"]

        # Published by its serving step; the run ends a moment later.
        _wait_for(lambda: all(r.status == DagsterRunStatus.SUCCESS for r in sensor_runs()), 60)
        runs = sensor_runs()
        assert len(runs) == 1
        assert _kpi_dates(settings.serving_path) == before | {new_day}
        print(f"landed day built and published {took:.0f} s after the files landed")

        # The next day's run is killed with SIGKILL: run monitoring marks it failed, and it is announced.
        copy_days(generated, settings.landing_dir, [START + timedelta(days=6)])
        victim = _wait_for(
            lambda: [
                r
                for r in instance.get_runs(limit=5)
                if r.run_id != runs[0].run_id and r.status == DagsterRunStatus.STARTED and _worker_pid(instance, r)
            ],
            180,
        )[0]
        os.kill(_worker_pid(instance, victim), signal.SIGKILL)
        _wait_for(lambda: instance.get_run_by_id(victim.run_id).status == DagsterRunStatus.FAILURE, 120, interval=2)

        def announced():
            try:
                with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
                    return conn.execute(
                        "select message from monitoring.alert_outbox where kind = 'run_failure' and label like ?",
                        [f"Run {victim.run_id[:8]}%"],
                    ).fetchall()
            except duckdb.Error:
                return []

        (message,) = _wait_for(announced, 180, interval=3)[0]
        assert f"Run {victim.run_id[:8]} of job pipeline failed" in message, message

    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)


def _worker_pid(instance: DagsterInstance, run) -> int | None:
    from dagster import DagsterEventType

    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
        metadata = entry.dagster_event.engine_event_data.metadata
        if "pid" in metadata and entry.message.startswith("Started process for run"):
            return int(metadata["pid"].value)
    return None


def test_the_instance_is_the_warehouses_own(tmp_path):
    settings = Settings.from_env({"OPS_WAREHOUSE": str(tmp_path / "a" / "w.duckdb")})
    other = Settings.from_env({"OPS_WAREHOUSE": str(tmp_path / "b" / "w.duckdb")})
    assert settings.dagster_home == tmp_path / "a" / "w.dagster"
    assert other.dagster_home != settings.dagster_home
    assert Settings.from_env({"DAGSTER_HOME": str(tmp_path / "h")}).dagster_home == tmp_path / "h"

    from ops_pipeline.instance import OpsRunLauncher, dagster_instance

    instance = dagster_instance(settings)
    assert isinstance(instance.run_launcher, OpsRunLauncher) and instance.run_monitoring_enabled
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert limits == [{"key": "ops_pipeline/warehouse", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_partitions_start_at_the_earliest_landing_day(generated, tmp_path):
    from ops_pipeline.partitions import daily_partitions

    settings = settings_for(tmp_path)
    copy_days(generated, settings.landing_dir, first_days(3)[1:])
    keys = daily_partitions(settings).get_partition_keys(current_time=datetime(2026, 10, 10, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == (START + timedelta(days=1)).isoformat()
    assert daily_partitions(replace(settings, partition_start="2026-09-01")).get_first_partition_key() == "2026-09-01"
