"""Issue 15, the failures that were unclear: a full disk under the warehouse, and a process holding
the warehouse open while a run wants it. Real runs of `ops-pipeline` on a real (small, tmpfs) disk,
a real DuckDB connection held by another process, the Slack stand-in over HTTP."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from ops_pipeline import warehouse
from tests.alerts_support import FakeSlack

OPS_PIPELINE = Path(sys.executable).parent / "ops-pipeline"
START, DAYS, LAST = "2026-09-01", 8, "2026-09-08"
RUN_TIMEOUT = 600


def ops(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OPS_PIPELINE), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def landing_days(tmp_path_factory) -> Path:
    """Eight generated days: the first seven land first, the eighth is the new delivery."""
    root = tmp_path_factory.mktemp("landing")
    result = ops("generate", "--out", str(root), "--start", START, "--days", str(DAYS), "--users", "400", "--seed", "5")
    assert result.returncode == 0, result.stderr
    return root


def move_day(landing: Path, day: str, to: Path) -> None:
    for path in landing.glob(f"*/{day}*"):
        target = to / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kpi_days(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("select min(date), max(date), count(*), sum(dau) from marts.kpi_daily").fetchone()


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs: a disk that really fills up (ENOSPC from the kernel)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64M", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the disk is full; the file to remove to make room again."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as sink:
        for chunk in (1 << 20, 1 << 12):  # megabytes, then the last few KiB
            try:
                while True:
                    sink.write(bytes(chunk))
            except OSError:
                pass
    assert shutil.disk_usage(disk).free < 1 << 20
    return filler


def test_a_full_disk_is_named_announced_and_leaves_the_marts_and_serving_copy(landing_days, small_disk, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(landing_days, landing)
    later = tmp_path / "later"
    move_day(landing, LAST, later)
    wh = small_disk / "warehouse.duckdb"
    first = ops("run", "-q", "--landing", str(landing), "--warehouse", str(wh))
    assert first.returncode == 0, first.stdout + first.stderr
    serving = small_disk / "serving.duckdb"
    before = kpi_days(wh), sha(serving)
    assert str(before[0][1]) == "2026-09-07"

    # The eighth day lands on a full disk: the run must say so, exit non-zero and page someone.
    move_day(later, LAST, landing)
    filler = fill(small_disk)
    with FakeSlack() as slack:
        full = ops(
            "run", "--landing", str(landing), "--warehouse", str(wh), env={"SLACK_WEBHOOK_URL": slack.webhook_url()}
        )
    output = full.stdout + full.stderr
    assert full.returncode == 1, output
    assert f"no space left on the warehouse's disk: {wh}" in output
    assert "Traceback" not in output and "OSError" not in output
    texts = [request["body"]["text"] for request in slack.requests]
    assert any("failed" in text and "no space left on the warehouse" in text for text in texts), texts
    assert (kpi_days(wh), sha(serving)) == before

    # Room again: the next run builds the delivery the full disk stopped.
    filler.unlink()
    again = ops("run", "-q", "--landing", str(landing), "--warehouse", str(wh))
    assert again.returncode == 0, again.stdout + again.stderr
    first_day, last_day, days, _ = kpi_days(wh)
    assert (str(first_day), str(last_day), days) == (START, LAST, DAYS)
    assert sha(serving) != before[1]


def test_no_room_finds_the_full_disk_and_out_of_space_reads_the_errors(small_disk, tmp_path):
    assert warehouse.no_room(tmp_path, small_disk) is None
    filler = fill(small_disk)
    assert warehouse.no_room(tmp_path, small_disk) == small_disk
    filler.unlink()
    assert warehouse.out_of_space(OSError(28, "No space left on device"))
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = duckdb.IOException('Could not write file "w.duckdb.wal": No space left on device')
    assert warehouse.out_of_space(wrapped)
    assert warehouse.out_of_space("(sqlite3.OperationalError) database or disk is full")
    assert not warehouse.out_of_space(OSError(13, "Permission denied"))


HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=True)
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


def hold_open(path: Path, seconds: float) -> subprocess.Popen:
    """Another process with a read-only connection on the warehouse for `seconds`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_connection_held_open_is_waited_for_out_loud_then_named(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(wh)).close()
    holder = hold_open(wh, 3)
    heard: list[str] = []
    started = time.monotonic()
    conn = warehouse.connect_waiting(wh, {}, heard.append, wait_seconds=60, notice_seconds=1)
    conn.close()
    holder.wait()
    assert 2 < time.monotonic() - started < 30
    assert heard and all(f"waiting for PID {holder.pid}" in line and str(wh) in line for line in heard), heard
    assert len(heard) >= 2  # the first notice, then one a second while it waits

    holder = hold_open(wh, 30)
    try:
        with pytest.raises(warehouse.WarehouseBusy, match=f"held open by PID {holder.pid}.*gave up after"):
            warehouse.connect_waiting(wh, {}, heard.append, wait_seconds=1.5, notice_seconds=1)
    finally:
        holder.kill()


def test_a_run_says_what_it_waits_for(landing_days, tmp_path):
    """`ops-pipeline run` on a warehouse a notebook holds open: the progress says for whom it waits,
    and the run goes on when the connection closes."""
    wh = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(wh)).close()
    holder = hold_open(wh, 20)
    result = ops("run", "--landing", str(landing_days), "--warehouse", str(wh))
    holder.wait()
    assert result.returncode == 0, result.stdout + result.stderr
    waits = [line for line in result.stdout.splitlines() if "waiting for PID" in line]
    assert waits and f"PID {holder.pid}" in waits[0] and str(wh) in waits[0], result.stdout
