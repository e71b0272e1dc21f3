"""Short-lived warehouse connections for alerting: DuckDB has one writer or many readers.

Alerting never keeps a connection open. A warehouse locked by another process
(a pipeline run writing) raises WarehouseBusy, which the sensors turn into a
quiet skip of the tick.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ops_pipeline import warehouse

RETRY_INTERVAL = 0.5


class WarehouseBusy(Exception):
    """Another process holds the warehouse; try again later."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "different configuration" in text


@contextmanager
def open_warehouse(path: str | Path, read_only: bool = False, wait_seconds: float = 0.0) -> Iterator[
        duckdb.DuckDBPyConnection]:
    """A connection for one short unit of work, committed on success and always closed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            conn = warehouse.connect(path, read_only=read_only)
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
            try:
                conn.execute("rollback")
            except duckdb.Error:
                pass
        raise
    finally:
        conn.close()
