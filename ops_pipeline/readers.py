"""Read one landing file into temp table _src: every column as text, plus __row.

DuckDB's own readers do the work (read_csv, read_text for JSON lines,
read_parquet). Records a reader cannot split into columns (a CSV line with the
wrong number of fields, a line that is not a JSON object) go to temp table
_malformed with their row number, so that they reach the quarantine too.

An empty file (no bytes, or only a byte-order mark and white space) has no
rows and no header: it is read as a file of no rows, without columns to check.
"""

from __future__ import annotations

import codecs
import difflib
from pathlib import Path

import duckdb

from ops_pipeline.contract import Source, name_words
from ops_pipeline.sqltext import ident, json_key, sql_str

# Largest file that is looked at for being only white space; anything bigger is not empty.
BLANK_PROBE_BYTES = 4096
# Words that do not make two column names alike on their own.
GENERIC_WORDS = frozenset({"id", "at", "no", "num", "date", "time", "name", "code", "type", "count", "total"})


class UnreadableFile(Exception):
    """A file that cannot be loaded at all; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def is_empty(path: Path, file_format: str) -> bool:
    """No bytes at all, or (CSV, JSON lines) nothing but a byte-order mark and white space."""
    size = path.stat().st_size
    if size == 0:
        return True
    if file_format == "parquet" or size > BLANK_PROBE_BYTES:
        return False
    return not path.read_bytes().removeprefix(codecs.BOM_UTF8).strip()


def read_into_src(conn, path: Path, file_format: str, empty: bool = False) -> int:
    """Read a file into _src (all VARCHAR, plus __row = 1-based data row) and _malformed; count the latter.
    An empty file (is_empty) gives a _src of no rows and no columns."""
    conn.execute("create or replace temp table _malformed (__row bigint, __reason varchar, __record varchar)")
    if empty:
        conn.execute("create or replace temp table _src (__row bigint)")
        return 0
    literal = "'" + str(path).replace("'", "''") + "'"
    try:
        if file_format == "csv":
            return _read_csv(conn, literal)
        if file_format == "jsonl":
            return _read_jsonl(conn, literal)
        conn.execute(
            "create or replace temp table _src as select file_row_number + 1 as __row, "
            f"* exclude (file_row_number) from read_parquet({literal}, file_row_number = true)"
        )
        conn.execute(_all_varchar_sql(conn))
        return 0
    except duckdb.Error as error:
        raise UnreadableFile(path, f"cannot read {file_format}: {_first_line(error)}") from None


def _read_csv(conn, literal: str) -> int:
    conn.execute("drop table if exists _csv_rejects")
    conn.execute("drop table if exists _csv_reject_scans")
    conn.execute(
        "create or replace temp table _src as select row_number() over () as __row, * from read_csv("
        f"{literal}, all_varchar = true, header = true, delim = ',', quote = '\"', escape = '\"', "
        "store_rejects = true, rejects_table = '_csv_rejects', rejects_scan = '_csv_reject_scans')"
    )
    # DuckDB reports rejected records by file line; the header is line 1.
    rejected = conn.execute(
        "insert into _malformed select line - 1, 'malformed CSV record: ' || string_agg(error_message, ' / '), "
        "json_object('line', any_value(csv_line)) from _csv_rejects group by line"
    ).fetchone()[0]
    if not rejected:
        return 0
    # Accepted records are numbered densely; give them back their positions in the file.
    conn.execute(
        "create or replace temp table _src as with positions as ("
        "  select p as __row, row_number() over (order by p) as __ordinal"
        "  from range(1, (select count(*) from _src) + (select count(*) from _malformed) + 1) as t(p)"
        "  where p not in (select __row from _malformed))"
        " select positions.__row, _src.* exclude (__row) from _src join positions on _src.__row = positions.__ordinal"
    )
    return rejected


def _read_jsonl(conn, literal: str) -> int:
    conn.execute(
        "create or replace temp table _lines as select __row, rtrim(line, chr(13)) as line from ("
        "  select unnest(lines) as line, generate_subscripts(lines, 1) as __row"
        f"  from (select string_split(content, chr(10)) as lines from read_text({literal})))"
        " where trim(line) <> ''"
    )
    malformed = conn.execute(
        "insert into _malformed select __row, 'malformed JSON line: not a JSON object', "
        "json_object('line', line) from _lines "
        "where case when json_valid(line) then json_type(line) <> 'OBJECT' else true end"
    ).fetchone()[0]
    if malformed:
        conn.execute("delete from _lines where __row in (select __row from _malformed)")
    keys = [
        k for (k,) in conn.execute("select distinct unnest(json_keys(line)) as k from _lines order by k").fetchall()
    ]
    # Keys are matched case-insensitively, so spellings that differ only in case are one column.
    spellings: dict[str, list[str]] = {}
    for key in keys:
        spellings.setdefault(key.strip().lower(), []).append(key)
    selects = "".join(
        ", coalesce("
        + ", ".join(f"json_extract_string(line, {sql_str('$.' + json_key(k))})" for k in variants)
        + f") as {ident(variants[0])}"
        for variants in spellings.values()
    )
    conn.execute(f"create or replace temp table _src as select __row{selects} from _lines")
    return malformed


def _all_varchar_sql(conn) -> str:
    cols = [name for name, *_ in conn.execute("describe _src").fetchall() if name != "__row"]
    casts = ", ".join(f"cast({ident(c)} as varchar) as {ident(c)}" for c in cols)
    return f"create or replace temp table _src as select __row{', ' if cols else ''}{casts} from _src"


def map_columns(conn, path: Path, source: Source) -> dict[str, str]:
    """Contract column -> the file's column, matched case-insensitively; extras under their own name.

    A file of no rows and no columns (empty, or JSON lines that are all malformed) has no columns to
    check. A required column missing fails the file, naming any column of a similar name it has."""
    file_columns = [name for name, *_ in conn.execute("describe _src").fetchall() if name != "__row"]
    if not file_columns and not conn.execute("select count(*) from _src").fetchall()[0][0]:
        return {}
    mapping: dict[str, str] = {}
    for name in file_columns:
        key = name.strip().lower()
        if key in mapping:
            raise UnreadableFile(path, f"columns {mapping[key]!r} and {name!r} are the same column")
        mapping[key] = name
    missing = [c for c in source.required if c not in mapping]
    if missing:
        alike = renamed_columns(mapping, source)
        hints = [f"{c} (the file has {', '.join(alike[c])}: renamed?)" if c in alike else c for c in missing]
        raise UnreadableFile(path, f"missing required column(s) {', '.join(hints)}")
    return mapping


def renamed_columns(mapping: dict[str, str], source: Source) -> dict[str, list[str]]:
    """Contract columns missing from the file -> the file's extra columns of a similar name (schema
    drift: channel delivered as utm_channel, event_time as event_timestamp)."""
    extras = [name for key, name in mapping.items() if key not in source.column_names]
    found: dict[str, list[str]] = {}
    for column in source.column_names:
        if column not in mapping:
            alike = [name for name in extras if similar_names(column, name)]
            if alike:
                found[column] = alike
    return found


def similar_names(contract_name: str, file_name: str) -> bool:
    """Whether a file's column name looks like a spelling of a contract column's: the words of one
    (generic words such as id or at aside) are all among the other's, or the names are 80% alike."""
    ours, theirs = set(name_words(contract_name)), set(name_words(file_name))
    specific_ours, specific_theirs = ours - GENERIC_WORDS, theirs - GENERIC_WORDS
    if specific_ours & specific_theirs and (specific_ours <= theirs or specific_theirs <= ours):
        return True
    return difflib.SequenceMatcher(None, contract_name, "_".join(name_words(file_name))).ratio() >= 0.8


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
