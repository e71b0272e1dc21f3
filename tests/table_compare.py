"""Row-for-row comparison of two tables' rows, shared by the tests that compare builds.

Rows are compared as multisets: both sides sorted, then paired in order. Floats are
equal within REL_TOL relative (ABS_TOL absolute, for sums that cancel out to ~0):
the same sum added up in another order (another engine, another plan, another
model layout) may differ in its last bits. Every other value must be equal and of
the same Python type.
"""

from __future__ import annotations

import math
import shutil
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

REL_TOL, ABS_TOL = 1e-9, 1e-12
SHOWN_DIFFERENCES = 5
SEARCHED_LEFT_OVERS = 500  # unmatched_rows() looks for a partner of at most this many rows per group


def dbt_executable() -> str:
    """The dbt of this interpreter's venv, else the one on PATH."""
    dbt = Path(sys.executable).with_name("dbt")
    return str(dbt if dbt.exists() else shutil.which("dbt"))


def normalise(value):
    """One Python value per SQL value, whichever driver returned it."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)  # an instant, whatever the session's zone
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def sort_key(value):
    # NULLs last; floats rounded so that the last bits of a sum never decide the order
    if value is None:
        return (1, 0)
    if isinstance(value, float):
        return (0, float(f"{value:.9g}")) if not math.isnan(value) else (0, math.inf)
    if isinstance(value, (list, tuple)):
        return (0, tuple(sort_key(item) for item in value))
    if isinstance(value, dict):
        return (0, tuple((str(key), sort_key(item)) for key, item in value.items()))
    return (0, value)


def sorted_rows(rows, normalised: bool = True) -> list[tuple]:
    """The rows in a canonical order (with normalise() applied to each value unless normalised=False)."""
    rows = [tuple(normalise(value) for value in row) for row in rows] if normalised else [tuple(r) for r in rows]
    return sorted(rows, key=lambda row: tuple(sort_key(value) for value in row))


def same_value(left, right) -> bool:
    numbers = (int, float)
    if (
        isinstance(left, numbers)
        and isinstance(right, numbers)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    ):
        if isinstance(left, int) and isinstance(right, int):
            return left == right
        if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
            return True  # NaN = NaN, as both DuckDB and PostgreSQL compare them
        return math.isclose(left, right, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return (
            type(left) is type(right) and len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right))
        )
    return left == right and type(left) is type(right)


def same_row(left: tuple, right: tuple) -> bool:
    return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right))


def paired_differences(
    names: list[str], left_rows: list[tuple], right_rows: list[tuple], left_label: str, right_label: str
) -> list[str]:
    """Two equally long sorted row lists paired in order: one text per pair that differs."""
    width = max(len(left_label), len(right_label))
    return [
        f"  {left_label:<{width}} {dict(zip(names, left))}\n  {right_label:<{width}} {dict(zip(names, right))}"
        for left, right in zip(left_rows, right_rows)
        if not same_row(left, right)
    ]


def differing_columns(names: list[str], left_rows: list[tuple], right_rows: list[tuple]) -> list[str]:
    """The columns whose values differ in at least one pair of two equally long sorted row lists."""
    return [
        name
        for index, name in enumerate(names)
        if any(not same_value(left[index], right[index]) for left, right in zip(left_rows, right_rows))
    ]


def unmatched_rows(left_rows: list[tuple], right_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """The rows of each side that have no equal row on the other, floats within the tolerance.

    Rows are grouped by their values other than floats, which must be equal; within a
    group they are paired in sorted order, and any row left over is then looked for
    among the other side's left-overs, so that no rounding of a sort key can pair
    rows wrongly. Both lists sorted.
    """
    floats = {
        index
        for row in (*left_rows, *right_rows)
        for index, value in enumerate(row)
        if isinstance(value, float)
        or (isinstance(value, (list, tuple)) and any(isinstance(item, float) for item in value))
    }

    def group_key(row):
        return tuple(sort_key(value) for index, value in enumerate(row) if index not in floats)

    groups: dict[tuple, tuple[list, list]] = {}
    for side, rows in enumerate((left_rows, right_rows)):
        for row in rows:
            groups.setdefault(group_key(row), ([], []))[side].append(row)
    left_over: tuple[list, list] = ([], [])
    for lefts, rights in groups.values():
        lefts, rights = sorted_rows(lefts, normalised=False), sorted_rows(rights, normalised=False)
        pending_left, pending_right = [], []
        for left, right in zip(lefts, rights):
            if not same_row(left, right):
                pending_left.append(left)
                pending_right.append(right)
        pending_left += lefts[len(rights) :]
        pending_right += rights[len(lefts) :]
        if len(pending_left) > SEARCHED_LEFT_OVERS:  # not a few misplaced pairs: rows that differ
            left_over[0].extend(pending_left)
            left_over[1].extend(pending_right)
            continue
        for left in pending_left:
            match = next((index for index, right in enumerate(pending_right) if same_row(left, right)), None)
            if match is None:
                left_over[0].append(left)
            else:
                pending_right.pop(match)
        left_over[1].extend(pending_right)
    return sorted_rows(left_over[0], normalised=False), sorted_rows(left_over[1], normalised=False)
