"""SQLAlchemy engines on the DuckDB warehouse that Great Expectations can use.

GE 1.24 closes the connection of a query before it reads the rows, and DuckDB
(through duckdb-engine) does not buffer results: every metric then fails with
'observed N/A' (an IndexError in resolve_metric_bundle). Engines created with
the `ops_duckdb_buffered` plugin fetch every result in full right after the
cursor runs, into SQLAlchemy's own fully buffered fetch strategy, so the rows
outlive the connection. GE creates its engines itself, from a connection string
and create_engine() kwargs: the plugin is how the hook reaches them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects import plugins
from sqlalchemy.engine import CreateEnginePlugin
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy
from sqlalchemy.pool import StaticPool

from ops_pipeline.settings import DUCKDB_MEMORY_LIMIT

PLUGIN_NAME = "ops_duckdb_buffered"
BATCH_TABLE_PREFIX = "quality_batch_"


def batch_query(table: str) -> str:
    """The query of a GE query asset over a batch table the runner materialised."""
    if not table.startswith(BATCH_TABLE_PREFIX):
        raise ValueError(f"batch tables are named {BATCH_TABLE_PREFIX}<n>, not {table}")
    return f"select * from {table}"


def buffer_duckdb_results(conn, cursor, statement, parameters, context, executemany) -> None:
    """after_cursor_execute hook: read the whole result now, while the connection is open.

    One exception: GE runs a batch's bare query only to learn its column names
    (duckdb-engine's reflection fails on DuckDB 2 with SQLAlchemy 2.1, so GE
    falls back to executing the query); its rows are never read, and copying a
    whole batch into Python for that would cost more than every check together.
    """
    if context is None or cursor.description is None:
        return
    if statement.lstrip().startswith(f"select * from {BATCH_TABLE_PREFIX}"):
        context.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(cursor, initial_buffer=[])
    else:
        context.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(cursor)


class DuckDBBufferingPlugin(CreateEnginePlugin):
    """Attaches buffer_duckdb_results to every engine of the duckdb dialect it creates."""

    def update_url(self, url):
        return url

    def engine_created(self, engine) -> None:
        if engine.dialect.name == "duckdb":
            event.listen(engine, "after_cursor_execute", buffer_duckdb_results)


plugins.register(PLUGIN_NAME, __name__, "DuckDBBufferingPlugin")


def connection_string(warehouse: str | Path) -> str:
    return f"duckdb:///{Path(warehouse).resolve()}"


def engine_kwargs() -> dict:
    """create_engine() kwargs: buffered results, read-only, one connection per engine.

    StaticPool keeps that one connection for the engine's life, so the temporary
    tables the runner builds stay visible to GE's queries; the runner disposes
    the engines when its checks are done, so no connection outlives a step
    (DuckDB has one writer, and the next step writes).
    """
    return {
        "plugins": [PLUGIN_NAME],
        "poolclass": StaticPool,
        "connect_args": {"read_only": True, "config": {"memory_limit": DUCKDB_MEMORY_LIMIT}},
    }
