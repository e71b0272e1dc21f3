"""The suites of expectations/ as data: load, expand and render them.

A suite file names the check it backs (asset, check name, blocking or not),
the rows to validate (a DuckDB query over the run's dates, or a builder such
as the learned volume ranges), the columns that say where a failing row is,
and Great Expectations expectations with their kwargs and a message template.
expectations/README.md describes the format. Nothing here imports Great
Expectations, so loading the Dagster definitions stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ops_pipeline.quality.params import RunWindow, SqlFormatter, runtime_params
from ops_pipeline.settings import PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
# How a batch picks its rows by date: the recomputed business dates, or the run's days.
RECOMPUTED_DATES = re.compile(r"\{window_start(_utc)?[}:]")
RUN_DAYS = re.compile(r"\{(start|end)[}:]")
SUITE_KEYS = {
    "check",
    "asset",
    "blocking",
    "description",
    "for_each",
    "params",
    "batch",
    "builder",
    "materialize",
    "where",
    "expectations",
}
EXPECTATION_KEYS = {"expectation", "kwargs", "message", "asset"}


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Expectation:
    type: str  # a GE expectation type, e.g. expect_column_values_to_be_between
    kwargs: dict[str, Any]
    message: str  # template for one failing row (its columns, the suite's params)
    asset: str  # the asset whose check reports it

    @property
    def class_name(self) -> str:
        """expect_column_pair_values_a_to_be_greater_than_b -> ExpectColumnPairValuesAToBeGreaterThanB."""
        return "".join(part[:1].upper() + part[1:] for part in self.type.split("_"))


@dataclass(frozen=True)
class Suite:
    name: str  # unique: the file stem, plus the for_each value
    check: str
    asset: str
    blocking: bool
    description: str
    expectations: tuple[Expectation, ...]
    where: tuple[str, ...] = ()
    batch: str | None = None
    builder: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # True: the batch query runs once into a temporary table that GE's metric queries
    # read (right for aggregates). False: a view, for a plain filter of one table's
    # rows, which DuckDB scans in place, column by column, faster than it copies them.
    materialize: bool = True

    @property
    def check_keys(self) -> list[tuple[str, str]]:
        """(asset, check name) of every check this suite reports to, in order."""
        return list(dict.fromkeys((e.asset, self.check) for e in self.expectations))

    def parameters(self, window: RunWindow) -> dict[str, Any]:
        return {**runtime_params(window, self.params), **self.params}

    def dates_checked(self, window: RunWindow) -> tuple[date, date] | None:
        """The dates whose rows the batch reads: the business dates the run recomputed (its SQL uses
        window_start), the run's days (start and end: landing days in raw, business dates in staging;
        the learned ranges judge those too), or None: every row of the tables."""
        if RECOMPUTED_DATES.search(self.batch or ""):
            return window.window_start, window.end
        if self.builder or RUN_DAYS.search(self.batch or ""):
            return window.start, window.end
        return None

    def render_batch(self, window: RunWindow) -> str:
        """The SQL of the rows to validate for this run window: one select (GE's query assets
        want one), so a query with CTEs is wrapped as a subquery."""
        params = self.parameters(window)
        if self.builder:
            from ops_pipeline.quality import learned

            query = learned.build(self.builder, params)
        else:
            query = SqlFormatter().format(self.batch, **params)
        query = query.strip()
        if re.match(r"select\s", query, re.IGNORECASE):
            return query
        return f"select * from (\n{query}\n) as batch_rows"


def load_suites(directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    suites: list[Suite] = []
    for path in sorted(directory.glob("*.yml")):
        suites.extend(_load_file(path))
    names = [s.name for s in suites]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SuiteError(f"duplicate suite names in {directory}: {', '.join(sorted(duplicates))}")
    keys = [k for s in suites for k in s.check_keys]
    clashing = {k for k in keys if keys.count(k) > 1}
    if clashing:
        raise SuiteError("two suites report to the same check: " + ", ".join(f"{a} {c}" for a, c in sorted(clashing)))
    return suites


def _load_file(path: Path) -> list[Suite]:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SuiteError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(spec, dict):
        raise SuiteError(f"{path.name}: expected a mapping at the top")
    unknown = set(spec) - SUITE_KEYS
    missing = {"check", "asset", "expectations"} - set(spec)
    if unknown or missing:
        raise SuiteError(f"{path.name}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    if bool(spec.get("batch")) == bool(spec.get("builder")):
        raise SuiteError(f"{path.name}: give exactly one of batch (SQL) or builder")
    return [_suite(path, spec, item) for item in _for_each_items(path, spec.get("for_each"))]


def _for_each_items(path: Path, for_each) -> list[dict]:
    """None -> one instance; {name: [values]} or [{name: value, ...}] -> one per value."""
    if for_each is None:
        return [{}]
    if isinstance(for_each, dict) and len(for_each) == 1:
        ((name, values),) = for_each.items()
        return [{name: value} for value in values]
    if isinstance(for_each, list) and all(isinstance(item, dict) and item for item in for_each):
        return for_each
    raise SuiteError(f"{path.name}: for_each must be {{name: [values]}} or a list of mappings")


def _suite(path: Path, spec: dict, item: dict) -> Suite:
    params = {**(spec.get("params") or {}), **item}
    suffix = f".{next(iter(item.values()))}" if item else ""
    asset = _fill(spec["asset"], params, path)
    expectations = []
    for index, entry in enumerate(spec["expectations"]):
        if not isinstance(entry, dict) or "expectation" not in entry or set(entry) - EXPECTATION_KEYS:
            raise SuiteError(
                f"{path.name}: expectation {index + 1} needs 'expectation' and only {sorted(EXPECTATION_KEYS)}"
            )
        if not re.fullmatch(r"expect_[a-z0-9_]+|unexpected_rows_expectation", entry["expectation"]):
            raise SuiteError(f"{path.name}: {entry['expectation']!r} is not an expectation type")
        expectations.append(
            Expectation(
                type=entry["expectation"],
                kwargs=dict(entry.get("kwargs") or {}),
                message=entry.get("message") or "",
                asset=_fill(entry.get("asset", asset), params, path),
            )
        )
    return Suite(
        name=f"{path.stem}{suffix}",
        check=spec["check"],
        asset=asset,
        blocking=bool(spec.get("blocking", False)),
        description=" ".join(str(spec.get("description", "")).split()),
        expectations=tuple(expectations),
        where=tuple(spec.get("where") or ()),
        batch=spec.get("batch"),
        builder=spec.get("builder"),
        params=params,
        materialize=bool(spec.get("materialize", True)),
    )


def _fill(template: str, params: dict, path: Path) -> str:
    try:
        return template.format(**params)
    except KeyError as error:
        raise SuiteError(f"{path.name}: {template!r} uses {error}, which is not a param") from error
