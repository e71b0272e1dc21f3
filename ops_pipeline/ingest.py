"""Load landing files into raw.<source>, quarantining rows that break the contract.

All parsing and validation runs inside DuckDB: a file is read by DuckDB's own
CSV / JSON-lines / Parquet readers into a temporary table of strings
(readers.py) and typed and checked by one generated SQL statement
(validation.py). Python only streams each file once for its checksum and its
UTF-8 check.

The work is split in two so that both cores are busy. Files are staged
(checksummed, read, typed and split into rows to load and rows to quarantine)
on worker threads, in a private in-memory DuckDB that runs each query on one
thread: within one landing file a second thread costs more than it saves, two
files at once use both cores. Each file gets a connection of its own there,
closed with the file, so its temporary tables go with it. The caller's
connection writes the staged rows, handed over as Arrow tables, for the whole
range of days in one transaction: a commit per day would cost more than
writing the day.

What a file says that is not a row but should be seen (it is empty, a
contract column seems to arrive under another name, an extra column holds
personal data and was hashed) is a warning: on the file's FileResult, in
raw.ingestion_warnings (replaced with the day, like the quarantine) and in
the process's log.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from ops_pipeline.contract import PERSONAL_VALUE_PATTERNS, SOURCES, looks_personal
from ops_pipeline.landing import LandingFile
from ops_pipeline.readers import UnreadableFile, is_empty, map_columns, read_into_src, renamed_columns
from ops_pipeline.sqltext import ident, sql_str
from ops_pipeline.validation import personal_value_test, typed_select

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Files staged at once; on two cores, more do not help, the writer needs its share.
STAGING_THREADS = 2
# Staged files waiting to be written, at most: bounds the memory they hold.
STAGED_AHEAD = 4


@dataclass(frozen=True)
class FileWarning:
    """Something about a file loaded that a person should know: kind empty_file, schema_drift or
    personal_data, and what happened."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass
class FileResult:
    source: str
    file: str
    landing_date: date
    format: str
    sha256: str
    bytes: int
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    warnings: list[FileWarning] = field(default_factory=list)


@dataclass
class DayResult:
    source: str
    landing_date: date
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def warnings(self) -> list[str]:
        """Every warning of the day's files, each as '<file>: <kind>: <message>'."""
        return [f"{f.file}: {w}" for f in self.files for w in f.warnings]


@dataclass
class _StagedFile:
    result: FileResult
    ingested_at: datetime
    rows: pa.Table  # raw.<source>'s columns for every row, plus __reason (NULL: the row loads) and __record
    quarantined: pa.Table  # raw.quarantine's columns; no columns at all when no row is quarantined


def ingest_range(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    first_day: date,
    last_day: date,
    files_by_day: dict[date, list[LandingFile]],
    *,
    timezone_name: str,
    pii_salt: str,
    run_id: str | None = None,
) -> list[DayResult]:
    """(Re)load every landing day of one source in [first_day, last_day], in one transaction.

    A day whose files are all readable replaces what that day held before
    (restatement). A day with an unreadable file is left as it was, none of its
    files loaded, and reported with the error of its first unreadable file. Any
    other error rolls the whole range back and is raised.
    """
    ZoneInfo(timezone_name)  # fail early on a bad zone name; it is embedded in SQL below
    # Staging happens in another database: give it this session's time zone, which says what naive timestamps mean.
    (session_zone,) = conn.execute("select current_setting('TimeZone')").fetchone()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    files = [f for day in days for f in files_by_day.get(day, [])]
    results: list[DayResult] = []
    conn.execute("begin transaction")
    try:
        held = _days_holding_rows(conn, source, first_day, last_day)
        with duckdb.connect(config={"threads": 1}) as staging, ThreadPoolExecutor(STAGING_THREADS) as pool:
            staged = _stage_in_order(pool, staging, files, session_zone, timezone_name, pii_salt)
            for day in days:
                day_files = [next(staged) for _ in files_by_day.get(day, [])]
                results.append(_write_day(conn, source, day, day_files, replace=day in held, run_id=run_id))
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")
    return results


def _stage_in_order(pool, staging, files, session_zone, timezone_name, pii_salt) -> Iterator[Future[_StagedFile]]:
    """Submit the files for staging, at most STAGED_AHEAD ahead of the one the writer takes."""
    waiting: deque[Future[_StagedFile]] = deque()
    for landing_file in files:
        # The cursor is made here, not on the worker: a connection is not to be shared between threads.
        waiting.append(pool.submit(_stage, staging.cursor(), landing_file, session_zone, timezone_name, pii_salt))
        if len(waiting) > STAGED_AHEAD:
            yield waiting.popleft()
    yield from waiting


def _days_holding_rows(conn, source: str, first_day: date, last_day: date) -> set[date]:
    """The days of the range with rows from an earlier load: only they need deleting before they are written."""
    rows = conn.execute(
        f"select _landing_date from raw.{source} where _landing_date between $first_day and $last_day "
        "union select landing_date from raw.quarantine "
        "where source = $source and landing_date between $first_day and $last_day "
        "union select landing_date from raw.ingestion_log "
        "where source = $source and landing_date between $first_day and $last_day",
        {"source": source, "first_day": first_day, "last_day": last_day},
    ).fetchall()
    return {day for (day,) in rows}


def _write_day(
    conn, source: str, day: date, staged: list[Future[_StagedFile]], replace: bool, run_id: str | None
) -> DayResult:
    try:
        files = [future.result() for future in staged]
    except UnreadableFile as error:
        return DayResult(source, day, error=str(error))
    if replace:
        params = {"source": source, "day": day}
        conn.execute(f"delete from raw.{source} where _landing_date = $day", {"day": day})
        for table in ("raw.quarantine", "raw.ingestion_log", "raw.ingestion_warnings"):
            conn.execute(f"delete from {table} where source = $source and landing_date = $day", params)
    for staged_file in files:
        _write_file(conn, staged_file, run_id)
    return DayResult(source, day, [f.result for f in files])


def _stage(cursor, landing_file: LandingFile, session_zone: str, timezone_name: str, pii_salt: str) -> _StagedFile:
    """Read, type and check one file: its rows for raw.<source> and for raw.quarantine."""
    path = landing_file.path
    source = SOURCES[landing_file.source]
    with cursor:
        sha256, size = _checksum(landing_file)
        meta = {
            "source": source.name,
            "file": str(path),
            "landing_date": landing_file.landing_date,
            "ingested_at": datetime.now(UTC),
        }
        cursor.execute(f"set TimeZone = {sql_str(session_zone)}")
        empty = is_empty(path, landing_file.format)
        malformed = read_into_src(cursor, path, landing_file.format, empty=empty)
        columns = map_columns(cursor, path, source)
        warnings = _warnings(cursor, source, columns, size if empty else None)
        names = ", ".join(ident(c) for c in source.column_names)
        rows_sql = (
            f"select {names}, $landing_date as _landing_date, $file as _file, __row as _row_number, "
            f"__extra as _extra, $ingested_at as _ingested_at, __reason, __record "
            f"from ({typed_select(source, columns, timezone_name)})"
        )
        rows = cursor.sql(rows_sql, params=_used({**meta, "salt": pii_salt}, rows_sql)).to_arrow_table()
        rows_loaded = rows.column("__reason").null_count
        quarantined = pa.table({})
        if malformed or rows_loaded < rows.num_rows:
            cursor.register("_rows", rows)
            quarantined = cursor.sql(
                "select $source as source, $file as file, row_number, reason, record, "
                "$landing_date as landing_date, $ingested_at as ingested_at from ("
                "  select _row_number as row_number, __reason as reason, __record as record"
                "  from _rows where __reason is not null"
                "  union all select __row, __reason, __record from _malformed)",
                params=meta,
            ).to_arrow_table()
    result = FileResult(
        source.name,
        str(path),
        landing_file.landing_date,
        landing_file.format,
        sha256,
        size,
        rows_read=rows_loaded + quarantined.num_rows,
        rows_loaded=rows_loaded,
        rows_quarantined=quarantined.num_rows,
        warnings=warnings,
    )
    for warning in warnings:
        log.warning("%s: %s", path, warning)
    return _StagedFile(result, meta["ingested_at"], rows, quarantined)


def _warnings(cursor, source, columns: dict[str, str], empty_size: int | None) -> list[FileWarning]:
    """The warnings of a file read into _src, whose columns map_columns matched."""
    if empty_size is not None:
        what = "0 bytes" if not empty_size else f"{empty_size} bytes, nothing but white space"
        return [FileWarning("empty_file", f"the file is empty ({what}): no header, no rows; loaded as no rows")]
    warnings = [
        FileWarning(
            "schema_drift",
            f"contract column {column} is missing but the file has {', '.join(alike)}: {column} is NULL on "
            f"every row and {', '.join(alike)} is kept only in _extra (renamed in the export?)",
        )
        for column, alike in renamed_columns(columns, source).items()
    ]
    extras = [name for key, name in columns.items() if key not in source.column_names]
    named = [name for name in extras if looks_personal(name)]
    if named:
        warnings.append(
            FileWarning(
                "personal_data",
                f"extra column(s) {', '.join(named)} look like personal data by name: hashed in _extra",
            )
        )
    others = [name for name in extras if name not in named]
    if others:
        tests = [personal_value_test(f"nullif(trim({ident(name)}), '')") for name in others]
        counts = cursor.execute(
            "select " + ", ".join(f"count(*) filter (where {test})" for test in tests) + " from _src"
        ).fetchall()[0]
        forms = " / ".join(PERSONAL_VALUE_PATTERNS)
        warnings += [
            FileWarning(
                "personal_data",
                f"extra column {name}: {count} value(s) look like personal data ({forms}): hashed in _extra",
            )
            for name, count in zip(others, counts, strict=True)
            if count
        ]
    return warnings


def _write_file(conn, staged: _StagedFile, run_id: str | None) -> None:
    result = staged.result
    for warning in result.warnings:
        conn.execute(
            "insert into raw.ingestion_warnings values ($source, $file, $landing_date, $kind, $message, "
            "$ingested_at, $run_id)",
            {
                "source": result.source,
                "file": result.file,
                "landing_date": result.landing_date,
                "kind": warning.kind,
                "message": warning.message,
                "ingested_at": staged.ingested_at,
                "run_id": run_id,
            },
        )
    # A relation's query, not conn.register: a registered table would be kept until the transaction ends.
    conn.from_arrow(staged.rows).query(
        "_rows",
        f"insert into raw.{result.source} by name select * exclude (__reason, __record) "
        "from _rows where __reason is null",
    )
    if staged.quarantined.num_rows:
        conn.from_arrow(staged.quarantined).query(
            "_quarantined", "insert into raw.quarantine by name select * from _quarantined"
        )
    conn.execute(
        "insert into raw.ingestion_log values ($source, $file, $landing_date, $format, $sha256, $bytes, "
        "$rows_read, $rows_loaded, $rows_quarantined, $ingested_at, $run_id)",
        {
            "source": result.source,
            "file": result.file,
            "landing_date": result.landing_date,
            "format": result.format,
            "sha256": result.sha256,
            "bytes": result.bytes,
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "ingested_at": staged.ingested_at,
            "run_id": run_id,
        },
    )


def _checksum(landing_file: LandingFile) -> tuple[str, int]:
    """One streaming pass: sha256, size, and (for text formats) a UTF-8 check."""
    path, check_utf8 = landing_file.path, landing_file.format != "parquet"
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if check_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    raise UnreadableFile(path, f"not UTF-8 (invalid byte at offset {size + error.start})") from None
            size += len(chunk)
    if check_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UnreadableFile(path, "not UTF-8 (truncated multi-byte character at the end)") from None
    return digest.hexdigest(), size


def _used(params: dict, sql: str) -> dict:
    """DuckDB rejects unused named parameters: keep those the statement mentions."""
    return {name: value for name, value in params.items() if f"${name}" in sql}
