"""The DuckDB warehouse: the raw layer's tables, and the connections every writer and reader opens.

DuckDB allows one writer or many readers, never both at once. Code outside
Dagster resources (alerting, the CLI's summary) never keeps a connection open:
open_warehouse is one short unit of work, and a warehouse locked by another
process (a pipeline run writing) raises WarehouseBusy, which the sensors turn
into a quiet skip of the tick.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ops_pipeline.contract import RAW_META_COLUMNS, SOURCES
from ops_pipeline.settings import DUCKDB_MEMORY_LIMIT

QUARANTINE_COLUMNS = (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("row_number", "BIGINT"),
    ("reason", "VARCHAR"),
    ("record", "VARCHAR"),
    ("landing_date", "DATE"),
    ("ingested_at", "TIMESTAMPTZ"),
)
INGESTION_LOG_COLUMNS = (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("landing_date", "DATE"),
    ("format", "VARCHAR"),
    ("sha256", "VARCHAR"),
    ("bytes", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("ingested_at", "TIMESTAMPTZ"),
    ("run_id", "VARCHAR"),  # the Dagster run that loaded the file: `ops-pipeline run` rebuilds what no run finished
)
# What a loaded file says that is not a row but should be seen (ingest.FileWarning); replaced with
# its landing day, like the quarantine.
INGESTION_WARNINGS_COLUMNS = (
    ("source", "VARCHAR"),
    ("file", "VARCHAR"),
    ("landing_date", "DATE"),
    ("kind", "VARCHAR"),  # empty_file, schema_drift, personal_data
    ("message", "VARCHAR"),
    ("ingested_at", "TIMESTAMPTZ"),
    ("run_id", "VARCHAR"),
)


def _ddl(table: str, columns) -> str:
    body = ",\n    ".join(f'"{name}" {type_}' for name, type_ in columns)
    return f"create table if not exists {table} (\n    {body}\n)"


def raw_table_ddl(source: str) -> str:
    columns = [(c.name, c.storage_type) for c in SOURCES[source].columns]
    return _ddl(f"raw.{source}", [*columns, *RAW_META_COLUMNS])


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and all its tables if missing (idempotent).

    All six source tables always exist, even before their first file lands, so
    that dbt sources and checks can rely on them.
    """
    conn.execute("create schema if not exists raw")
    for source in SOURCES:
        conn.execute(raw_table_ddl(source))
    conn.execute(_ddl("raw.quarantine", QUARANTINE_COLUMNS))
    conn.execute(_ddl("raw.ingestion_log", INGESTION_LOG_COLUMNS))
    conn.execute(_ddl("raw.ingestion_warnings", INGESTION_WARNINGS_COLUMNS))
    # Warehouses built before run_id was recorded: their days count as not built by a finished run.
    conn.execute("alter table raw.ingestion_log add column if not exists run_id varchar")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the session settings every writer relies on."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    conn.execute("set enable_progress_bar = false")
    # Timestamps are stored as instants; naive inputs mean UTC (docs/sources.md).
    conn.execute("set TimeZone = 'UTC'")
    return conn


RETRY_INTERVAL = 0.5


class WarehouseBusy(Exception):
    """Another process holds the warehouse; try again later."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "different configuration" in text


@contextmanager
def open_warehouse(
    path: str | Path, read_only: bool = False, wait_seconds: float = 0.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one short unit of work, committed on success and always closed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            # A run holds the warehouse between its steps too: a connection opened then would make
            # the run's next step (dbt above all) fail to lock it.
            if writer_active(path):
                raise duckdb.IOException("Could not set lock: a run holds the writer lock")
            conn = connect(path, read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not _is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"the warehouse {Path(path).name} is locked by another process") from None
            time.sleep(RETRY_INTERVAL)
    try:
        if not read_only:
            conn.execute("begin transaction")
        yield conn
        if not read_only:
            conn.execute("commit")
    except BaseException:
        if not read_only:
            with contextlib.suppress(duckdb.Error):
                conn.execute("rollback")
        raise
    finally:
        conn.close()


# One run writes a warehouse at a time. The Dagster queue keeps the runs it launches apart
# (instance.py); this lock keeps apart everything else that executes a run: `ops-pipeline run`,
# a run started from the UI outside the queue, and any of those against a queued one.
_held: dict[Path, int] = {}  # the writer locks this process holds, with their depth


class WarehouseLocked(Exception):
    """Another run is writing the warehouse (and the caller chose not to wait)."""

    def __init__(self, holder: str):
        super().__init__(f"run {holder} is writing this warehouse")
        self.holder = holder


def _lock_path(path: str | Path) -> Path:
    path = Path(path).resolve()
    return path.with_name(path.name + ".writer.lock")


def lock_holder(path: str | Path) -> str:
    """The run id written by the process that holds (or last held) the writer lock."""
    try:
        return _lock_path(path).read_text().strip() or "?"
    except OSError:
        return "?"


def _try_lock(handle, attempts: int = 10) -> bool:
    """The exclusive lock without waiting for a run; a probe of writer_active holds it for an instant."""
    for _ in range(attempts):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.02)
    return False


def writer_active(path: str | Path) -> bool:
    """Whether another process holds the warehouse's writer lock (a run in progress)."""
    lock = _lock_path(path)
    if _held.get(lock) or not lock.exists():
        return False
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextmanager
def writer_lock(
    path: str | Path, run_id: str, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the warehouse's writer lock (an flock beside it, released by the kernel when the process
    dies, so a killed run never leaves it behind). Re-entrant within a process: the run's resource
    takes it again inside the command line's hold. Raises WarehouseLocked when not waiting."""
    lock = _lock_path(path)
    if _held.get(lock):
        _held[lock] += 1
        try:
            yield
        finally:
            _held[lock] -= 1
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        if not _try_lock(handle):
            holder = lock_holder(path)
            if not wait:
                raise WarehouseLocked(holder) from None
            if on_wait:
                on_wait(f"waiting for run {holder} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.truncate(0)
        handle.write(run_id)
        handle.flush()
        _held[lock] = 1
        try:
            yield
        finally:
            del _held[lock]
            fcntl.flock(handle, fcntl.LOCK_UN)


# A process that holds the warehouse open (a DuckDB shell, a notebook, a BI tool pointed at the
# warehouse instead of its serving copy) keeps a run from opening it: the run waits this long,
# saying for whom, then fails naming the holder.
OPEN_WAIT_SECONDS = 120.0
OPEN_WAIT_NOTICE_SECONDS = 15.0
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def held_by(error: Exception) -> str:
    """Who holds the warehouse, as DuckDB's lock error names it ("PID 123, /usr/bin/duckdb")."""
    found = _HOLDER.search(str(error))
    return f"PID {found['pid']}, {found['program']}" if found else "another process"


def connect_waiting(
    path: str | Path,
    config: dict,
    on_wait: Callable[[str], None],
    wait_seconds: float = OPEN_WAIT_SECONDS,
    notice_seconds: float = OPEN_WAIT_NOTICE_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """A writing connection to the warehouse, waiting up to wait_seconds while another process holds
    it open; on_wait hears who that is when the wait starts and every notice_seconds after."""
    started = time.monotonic()
    noticed = None
    while True:
        try:
            return duckdb.connect(str(path), read_only=False, config=config)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not _is_lock_error(error):
                raise
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise WarehouseBusy(
                    f"the warehouse {path} is held open by {held_by(error)}; gave up after {waited:.0f} s: "
                    "close that connection (BI tools read the serving copy) and run again"
                ) from None
            if noticed is None or time.monotonic() - noticed >= notice_seconds:
                noticed = time.monotonic()
                on_wait(
                    f"waiting for {held_by(error)} to close the warehouse {path} "
                    f"({waited:.0f} s of at most {wait_seconds:.0f} s)"
                )
            time.sleep(RETRY_INTERVAL)


# --- A full disk --------------------------------------------------------------------------------

_OUT_OF_SPACE = ("no space left on device", "database or disk is full", "not enough space")


def out_of_space(error: BaseException | str | None) -> bool:
    """Whether an error (or any error it was raised from), or an error's text, says a disk is full:
    ENOSPC from Python, DuckDB's 'No space left on device', SQLite's 'database or disk is full'."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, str):
            return any(text in error.lower() for text in _OUT_OF_SPACE)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        if any(text in str(error).lower() for text in _OUT_OF_SPACE):
            return True
        error = error.__cause__ or error.__context__
    return False


def no_room(*folders: str | Path, need: int = 4 << 20) -> Path | None:
    """The first of the folders whose disk cannot take `need` more bytes (written, then removed), or
    None. Asked after a failure whose error does not say (SQLite's 'disk I/O error')."""
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        try:
            with tempfile.TemporaryFile(dir=folder) as probe:
                probe.write(bytes(need))
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                return folder
    return None


def disk_full_message(warehouse_path: str | Path, full: str | Path | None = None) -> str:
    """What to tell the user when the disk of the warehouse (or of `full`, a folder of the run's
    on another disk: its Dagster instance, its log) filled up during a run."""
    warehouse_path = Path(warehouse_path)
    full = Path(full) if full else warehouse_path.parent
    where = "the warehouse's disk" if full == warehouse_path.parent else f"the disk of {full}"
    try:
        free = f"{shutil.disk_usage(full).free / 2**20:,.1f} MiB free"
    except OSError:
        free = "free space unknown"
    return (
        f"no space left on {where}: {warehouse_path} ({free}). Every write is a transaction, so no "
        "table is half-written, and the serving copy is as the last successful run left it; free some "
        "space and run again: the next run builds this delivery again"
    )
