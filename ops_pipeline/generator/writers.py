"""Write Arrow tables as landing files and remember what was written.

CSV and JSON lines go through DuckDB's COPY (fast, quotes only when needed,
UTF-8), Parquet through pyarrow. The file-level quirks real exports have (a
BOM, an extra column, headers in another case, another column order) are
applied here, and recorded so tests and docs can point at them.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

BOM = b"\xef\xbb\xbf"


def shout_case(name: str) -> str:
    """event_id -> Event_ID: the header style of some BI exports."""
    return "_".join("ID" if part == "id" else part.capitalize() for part in name.split("_"))


class LandingWriter:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.con = duckdb.connect()
        # Byte-identical output for the same input, whatever the thread scheduling.
        self.con.execute("set preserve_insertion_order = true")
        self.rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # source -> day -> rows
        self.files: dict[str, int] = {}  # relative path -> rows
        self.variants: dict[str, list[str]] = {}  # relative path -> quirks

    def write(
        self, source: str, day: str, table: pa.Table, fmt: str, suffix: str = "", *, quirks: tuple[str, ...] = ()
    ) -> str:
        relative = f"{source}/{day}{suffix}.{fmt}"
        path = self.out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        table = self._apply(table, quirks)
        if fmt == "parquet":
            pq.write_table(table, path, compression="snappy")
        else:
            self._copy(table, path, fmt)
            if "bom" in quirks:
                path.write_bytes(BOM + path.read_bytes())
        self.rows[source][day] += table.num_rows
        self.files[relative] = table.num_rows
        if quirks:
            self.variants[relative] = list(quirks)
        return relative

    def _apply(self, table: pa.Table, quirks: tuple[str, ...]) -> pa.Table:
        for quirk in quirks:
            if quirk.startswith("extra_column:"):
                name, _, value = quirk.removeprefix("extra_column:").partition("=")
                table = table.append_column(name, pa.array([value] * table.num_rows, pa.string()))
            elif quirk == "header_case":
                table = table.rename_columns([shout_case(c) for c in table.column_names])
            elif quirk == "column_order":
                table = table.select(list(reversed(table.column_names)))
        return table

    def _copy(self, table: pa.Table, path: Path, fmt: str) -> None:
        target = str(path).replace("'", "''")
        options = "FORMAT CSV, HEADER, DELIMITER ','" if fmt == "csv" else "FORMAT JSON"
        self.con.register("landing_rows", table)
        try:
            self.con.execute(f"COPY landing_rows TO '{target}' ({options})")
        finally:
            self.con.unregister("landing_rows")

    def close(self) -> None:
        self.con.close()
