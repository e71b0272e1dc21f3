"""Load landing files into raw.<source>, quarantining rows that break the contract.

All parsing and validation runs inside DuckDB: a file is read by DuckDB's own
CSV / JSON-lines / Parquet readers into a temporary table of strings, typed and
checked by one generated SQL statement, then split between the raw table and
raw.quarantine. Python only streams each file once for its checksum and its
UTF-8 check.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from ops_pipeline.contract import EVENT_PLATFORMS, ORDER_STATUSES, PERSONAL_COLUMNS, SOURCES, Column
from ops_pipeline.landing import LandingFile

CHUNK = 1 << 20


class UnreadableFile(Exception):
    """A file that cannot be loaded at all; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


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
    _read_into_src(conn, path, landing_file.format)
    source = SOURCES[landing_file.source]
    columns = _map_columns(conn, path, source)
    typed_sql = f"create or replace temp table _typed as {_typed_select(source, columns, timezone_name)}"
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


def _read_into_src(conn, path: Path, file_format: str) -> None:
    """Read a file into temp table _src (all VARCHAR, plus __row = 1-based data row).

    Lines the reader cannot split into a record go to temp table _malformed
    (__row, __reason, __record) so that they reach the quarantine too.
    """
    conn.execute("create or replace temp table _malformed (__row bigint, __reason varchar, __record varchar)")
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        if file_format == "csv":
            _read_csv(conn, literal)
        elif file_format == "jsonl":
            _read_jsonl(conn, literal)
        else:
            conn.execute(
                "create or replace temp table _src as select file_row_number + 1 as __row, "
                f"* exclude (file_row_number) from read_parquet({literal}, file_row_number = true)"
            )
            conn.execute(_all_varchar_sql(conn))
    except duckdb.Error as error:
        raise UnreadableFile(path, f"cannot read {file_format}: {_first_line(error)}") from None


def _read_csv(conn, literal: str) -> None:
    conn.execute("drop table if exists _csv_rejects")
    conn.execute("drop table if exists _csv_reject_scans")
    conn.execute(
        "create or replace temp table _csv as select row_number() over () as __ordinal, * from read_csv("
        f"{literal}, all_varchar = true, header = true, delim = ',', quote = '\"', escape = '\"', "
        "store_rejects = true, rejects_table = '_csv_rejects', rejects_scan = '_csv_reject_scans')"
    )
    # DuckDB reports rejected records by file line; the header is line 1.
    conn.execute(
        "insert into _malformed select line - 1, 'malformed CSV record: ' || string_agg(error_message, ' / '), "
        "json_object('line', any_value(csv_line)) from _csv_rejects group by line"
    )
    rejected = conn.execute("select count(*) from _malformed").fetchone()[0]
    if not rejected:
        conn.execute("create or replace temp table _src as select * rename (__ordinal as __row) from _csv")
        return
    # Accepted records are numbered densely; give them back their positions in the file.
    conn.execute(
        "create or replace temp table _src as with positions as ("
        "  select p as __row, row_number() over (order by p) as __ordinal"
        "  from range(1, (select count(*) from _csv) + (select count(*) from _malformed) + 1) as t(p)"
        "  where p not in (select __row from _malformed))"
        " select positions.__row, _csv.* exclude (__ordinal) from _csv join positions using (__ordinal)"
    )


def _read_jsonl(conn, literal: str) -> None:
    conn.execute(
        "create or replace temp table _lines as select __row, rtrim(line, chr(13)) as line from ("
        "  select unnest(lines) as line, generate_subscripts(lines, 1) as __row"
        f"  from (select string_split(content, chr(10)) as lines from read_text({literal})))"
        " where trim(line) <> ''"
    )
    conn.execute(
        "insert into _malformed select __row, 'malformed JSON line: not a JSON object', "
        "json_object('line', line) from _lines "
        "where case when json_valid(line) then json_type(line) <> 'OBJECT' else true end"
    )
    conn.execute("delete from _lines where __row in (select __row from _malformed)")
    keys = [k for (k,) in conn.execute(
        "select distinct unnest(json_keys(line)) as k from _lines order by k").fetchall()]
    # Keys are matched case-insensitively, so spellings that differ only in case are one column.
    spellings: dict[str, list[str]] = {}
    for key in keys:
        spellings.setdefault(key.strip().lower(), []).append(key)
    selects = "".join(
        ", coalesce(" + ", ".join(f"json_extract_string(line, {_sql_str('$.' + _json_key(k))})" for k in variants)
        + f") as {_ident(variants[0])}"
        for variants in spellings.values()
    )
    conn.execute(f"create or replace temp table _src as select __row{selects} from _lines")


def _all_varchar_sql(conn) -> str:
    cols = [name for name, *_ in conn.execute("describe _src").fetchall() if name != "__row"]
    casts = ", ".join(f"cast({_ident(c)} as varchar) as {_ident(c)}" for c in cols)
    return f"create or replace temp table _src as select __row{', ' if cols else ''}{casts} from _src"


def _map_columns(conn, path: Path, source) -> dict[str, str]:
    """Contract column -> the file's column, matched case-insensitively; extras under their own name."""
    file_columns = [name for name, *_ in conn.execute("describe _src").fetchall() if name != "__row"]
    mapping: dict[str, str] = {}
    for name in file_columns:
        key = name.strip().lower()
        if key in mapping:
            raise UnreadableFile(path, f"columns {mapping[key]!r} and {name!r} are the same column")
        mapping[key] = name
    missing = [c for c in source.required if c not in mapping]
    if missing:
        raise UnreadableFile(path, f"missing required column(s) {', '.join(missing)}")
    return mapping


# --- the generated typing and validation statement -------------------------------------------

def _typed_select(source, file_columns: dict[str, str], timezone_name: str) -> str:
    """SELECT over _src giving typed contract columns, __extra, __record and __reason."""
    personal = PERSONAL_COLUMNS.get(source.name, ())
    cleaned = ["__row"]
    for column in source.columns:
        original = file_columns.get(column.name)
        value = f"nullif(trim({_ident(original)}), '')" if original else "cast(null as varchar)"
        if column.name in personal:
            value = f"sha256($salt || {value})"
        cleaned.append(f"{value} as {_ident('v_' + column.name)}")
    extras = [name for key, name in file_columns.items() if key not in source.column_names]
    extra = f"json_object({_pairs(extras)})" if extras else "cast(null as varchar)"
    record_pairs = ", ".join(
        f"{_sql_str(name)}, " + (f"sha256($salt || {_ident(name)})" if key in personal else _ident(name))
        for key, name in file_columns.items()
    )
    cleaned.append(f"{extra} as __extra")
    cleaned.append(f"json_object({record_pairs}) as __record" if record_pairs else "'{}' as __record")

    typed = ", ".join(f"{_typed_value(c)} as {_ident(c.name)}" for c in source.columns)
    reasons = [r for c in source.columns for r in _column_reasons(c)] + _source_reasons(source.name, timezone_name)
    names = ", ".join(_ident(c.name) for c in source.columns)
    return (
        f"with cleaned as (select {', '.join(cleaned)} from _src),"
        f" typed as (select *, {typed} from cleaned)"
        f" select __row, {names}, __extra, __record,"
        f" nullif(concat_ws('; ', {', '.join(reasons)}), '') as __reason from typed"
    )


def _typed_value(column: Column) -> str:
    v = _ident("v_" + column.name)
    if column.name == "platform" or column.name == "status":
        return f"lower({v})"
    return {
        "string": v,
        "json": v,
        "timestamp": f"try_cast({v} as timestamptz)",
        "date": f"try_cast({v} as date)",
        "integer": f"try_cast({v} as bigint)",
        "decimal": f"case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end",
        "float": f"case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end",
    }[column.type]


def _column_reasons(column: Column) -> list[str]:
    v, typed, name = _ident("v_" + column.name), _ident(column.name), column.name
    reasons = []
    if column.required:
        reasons.append(f"case when {v} is null then 'missing required {name}' end")
    if column.type == "json":
        reasons.append(f"case when {v} is not null and not coalesce(json_valid({v}), false) "
                       f"then '{name} is not valid JSON' end")
    elif column.type not in ("string",):
        reasons.append(f"case when {v} is not null and {typed} is null "
                       f"then '{name} is not a valid {column.type}: ' || {v} end")
    if column.type in ("integer", "decimal"):
        reasons.append(f"case when {typed} < 0 then 'negative {name}: ' || {v} end")
    return reasons


def _source_reasons(source: str, timezone_name: str) -> list[str]:
    if source == "events":
        return [
            f"case when platform not in ({_sql_list(EVENT_PLATFORMS)}) then 'unknown platform: ' || v_platform end",
            f"case when cast(event_time at time zone '{timezone_name}' as date) > $landing_date + 1 "
            "then 'event_time more than one day after landing day: ' || v_event_time || ' landed ' || $landing_date end",
        ]
    if source == "orders":
        return [
            f"case when status not in ({_sql_list(ORDER_STATUSES)}) then 'unknown status: ' || v_status end",
            "case when status in ('paid', 'refunded') and paid_at is null and v_paid_at is null "
            "then 'status ' || status || ' without paid_at' end",
            "case when status = 'refunded' and refunded_at is null and v_refunded_at is null "
            "then 'status refunded without refunded_at' end",
            "case when upper(v_currency) <> 'CNY' then 'currency is not CNY: ' || v_currency end",
            "case when refund_amount > amount then 'refund_amount above amount: ' || v_refund_amount || ' > ' || v_amount end",
        ]
    if source == "channel_spend":
        return ["case when clicks > impressions then 'clicks above impressions: ' || clicks || ' > ' || impressions end"]
    if source == "content":
        return ["case when clicks > exposures then 'clicks above exposures: ' || clicks || ' > ' || exposures end"]
    if source == "kol_posts":
        return ["case when audience_match > 1 then 'audience_match above 1: ' || v_audience_match end"]
    return []


# --- small SQL text helpers --------------------------------------------------------------------

def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(values) -> str:
    return ", ".join(_sql_str(v) for v in values)


def _pairs(names: list[str]) -> str:
    return ", ".join(f"{_sql_str(n)}, {_ident(n)}" for n in names)


def _json_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _used(params: dict, sql: str) -> dict:
    """DuckDB rejects unused named parameters: keep those the statement mentions."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
