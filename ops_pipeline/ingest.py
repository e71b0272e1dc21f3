"""Load landing files into raw.<source>, quarantining rows that break the contract.

All parsing and validation runs inside DuckDB: a file is read by DuckDB's own
CSV / JSON-lines / Parquet readers into a temporary table of strings
(readers.py), typed and checked by one generated SQL statement (validation.py),
then split between the raw table and raw.quarantine. Python only streams each
file once for its checksum and its UTF-8 check.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from ops_pipeline.contract import SOURCES
from ops_pipeline.landing import LandingFile
from ops_pipeline.readers import UnreadableFile, map_columns, read_into_src
from ops_pipeline.validation import typed_select

CHUNK = 1 << 20


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


def ingest_range(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    first_day: date,
    last_day: date,
    files_by_day: dict[date, list[LandingFile]],
    *,
    timezone_name: str,
    pii_salt: str,
) -> list[DayResult]:
    """(Re)load every landing day of one source in [first_day, last_day].

    Each day is replaced in its own transaction: a day whose files are all
    readable replaces what that day held before (restatement), a day with an
    unreadable file is rolled back whole and reported with the error.
    """
    ZoneInfo(timezone_name)  # fail early on a bad zone name; it is embedded in SQL below
    results: list[DayResult] = []
    day = first_day
    while day <= last_day:
        results.append(_ingest_day(conn, source, day, files_by_day.get(day, []), timezone_name, pii_salt))
        day += timedelta(days=1)
    return results


def _ingest_day(conn, source, day, files, timezone_name, pii_salt) -> DayResult:
    result = DayResult(source, day)
    conn.execute("begin transaction")
    try:
        params = {"source": source, "day": day}
        conn.execute(f"delete from raw.{source} where _landing_date = $day", {"day": day})
        for table in ("raw.quarantine", "raw.ingestion_log"):
            conn.execute(f"delete from {table} where source = $source and landing_date = $day", params)
        for landing_file in files:
            result.files.append(_ingest_file(conn, landing_file, timezone_name, pii_salt))
    except UnreadableFile as error:
        conn.execute("rollback")
        result.error = str(error)
        result.files = []
        return result
    except Exception:
        conn.execute("rollback")
        raise
    conn.execute("commit")
    return result


def _ingest_file(conn, landing_file: LandingFile, timezone_name: str, pii_salt: str) -> FileResult:
    path = landing_file.path
    sha256, size = _checksum(path, check_utf8=landing_file.format != "parquet")
    result = FileResult(landing_file.source, str(path), landing_file.landing_date, landing_file.format, sha256, size)
    ingested_at = datetime.now(timezone.utc)
    read_into_src(conn, path, landing_file.format)
    source = SOURCES[landing_file.source]
    columns = map_columns(conn, path, source)
    typed_sql = f"create or replace temp table _typed as {typed_select(source, columns, timezone_name)}"
    conn.execute(typed_sql, _used({"landing_date": landing_file.landing_date, "salt": pii_salt}, typed_sql))
    meta = {"landing_date": landing_file.landing_date, "file": str(path), "ingested_at": ingested_at}
    names = ", ".join(f'"{c}"' for c in source.column_names)
    conn.execute(
        f"insert into raw.{source.name} ({names}, _landing_date, _file, _row_number, _extra, _ingested_at) "
        f"select {names}, $landing_date, $file, __row, __extra, $ingested_at from _typed where __reason is null",
        meta,
    )
    conn.execute(
        "insert into raw.quarantine (source, file, row_number, reason, record, landing_date, ingested_at) "
        "select $source, $file, __row, __reason, __record, $landing_date, $ingested_at from _typed "
        "where __reason is not null "
        "union all select $source, $file, __row, __reason, __record, $landing_date, $ingested_at from _malformed",
        {**meta, "source": source.name},
    )
    result.rows_loaded, result.rows_quarantined = conn.execute(
        "select count(*) filter (where __reason is null), "
        "count(*) filter (where __reason is not null) + (select count(*) from _malformed) from _typed"
    ).fetchone()
    result.rows_read = result.rows_loaded + result.rows_quarantined
    conn.execute(
        "insert into raw.ingestion_log values ($source, $file, $landing_date, $format, $sha256, $bytes, "
        "$rows_read, $rows_loaded, $rows_quarantined, $ingested_at)",
        {**meta, "source": source.name, "format": result.format, "sha256": sha256, "bytes": size,
         "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
         "rows_quarantined": result.rows_quarantined},
    )
    return result


def _checksum(path: Path, check_utf8: bool) -> tuple[str, int]:
    """One streaming pass: sha256, size, and (for text formats) a UTF-8 check."""
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
                    raise UnreadableFile(path, f"not UTF-8 (invalid byte at offset {size + error.start})")
            size += len(chunk)
    if check_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UnreadableFile(path, "not UTF-8 (truncated multi-byte character at the end)")
    return digest.hexdigest(), size


def _used(params: dict, sql: str) -> dict:
    """DuckDB rejects unused named parameters: keep those the statement mentions."""
    return {name: value for name, value in params.items() if f"${name}" in sql}
