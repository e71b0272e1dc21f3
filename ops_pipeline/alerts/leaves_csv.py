"""Reading a leaves CSV for `ops-pipeline explain`: a column per dimension plus `real` and `predict`.

The format of the public root-cause benchmarks (Squeeze, RiskLoc). Errors
name the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ops_pipeline.alerts.rootcause import PREDICT, REAL


class LeavesError(ValueError):
    """A leaves CSV that cannot be explained: its message names the file, line and problem."""


def read_leaves(path: Path) -> pd.DataFrame:
    """The leaves with `real` and `predict` as floats and every other column (a dimension) as text."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise LeavesError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise LeavesError(f"{path}: not a readable CSV ({error})") from None
    missing = [c for c in (REAL, PREDICT) if c not in raw.columns]
    if missing:
        raise LeavesError(f"{path}: no column {' and '.join(repr(c) for c in missing)} (columns: {list(raw.columns)})")
    if len(raw.columns) < 3:
        raise LeavesError(f"{path}: no dimension column beside 'real' and 'predict'")
    for column in (REAL, PREDICT):
        text = raw[column].str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        bad = numbers.isna() | ~numbers.abs().lt(float("inf"))
        if bad.any():
            row = int(bad.to_numpy().argmax())
            # line 1 is the header
            raise LeavesError(f"{path}, line {row + 2}: {column} is {raw[column].iloc[row]!r}, not a number")
        if (numbers < 0).any():
            row = int((numbers < 0).to_numpy().argmax())
            raise LeavesError(
                f"{path}, line {row + 2}: {column} is {raw[column].iloc[row]!r}; an additive metric is never negative"
            )
        raw[column] = numbers.astype(float)
    return raw
