"""What a check found, in words: value objects built from Great Expectations results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ops_pipeline.quality.params import RunWindow, range_label, render_message
from ops_pipeline.quality.suites import Expectation, Suite

MAX_EXAMPLES = 20


@dataclass
class ExpectationResult:
    suite: str
    asset: str
    check: str
    expectation: str  # GE type
    column: str  # the column(s) it is about, or 'table'
    success: bool
    observed: str
    expected: str
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: list[dict] = field(default_factory=list)  # failing rows: where + value columns
    messages: list[str] = field(default_factory=list)  # one line per failing row, or one for the table
    error: str | None = None


@dataclass
class CheckResult:
    """One Dagster asset check: every expectation of a suite reported to (asset, check)."""

    asset: str
    check: str
    blocking: bool
    description: str
    window: RunWindow
    expectations: list[ExpectationResult]
    seconds: float = 0.0
    docs: str | None = None
    dates: tuple[date, date] | None = None  # the dates whose rows were read (Suite.dates_checked); None: all

    @property
    def passed(self) -> bool:
        return all(e.success for e in self.expectations)

    @property
    def rows_checked(self) -> int:
        return max((e.element_count or 0 for e in self.expectations), default=0)

    @property
    def table(self) -> str:
        """The table checked: the asset's key as schema.table (raw/events -> raw.events)."""
        return self.asset.replace("/", ".")

    @property
    def dates_checked(self) -> str:
        """The dates whose rows were read, first..last ('all dates': whole tables)."""
        return "all dates" if self.dates is None else range_label(*self.dates)

    @property
    def scope(self) -> str:
        """What was checked, in words: 'raw.events, dates 2026-11-24..2026-12-01 (landing days ...)'."""
        dates = self.dates_checked if self.dates is None else f"dates {self.dates_checked}"
        return f"{self.table}, {dates} (landing days {self.window.label})"

    @property
    def failed_slices(self) -> list[dict]:
        """Where the failing rows are: the distinct text and date values of their `where` columns
        (date, platform, event name, file; counts and other numbers left out), in order."""
        slices = []
        for e in self.expectations:
            for row in e.examples:
                where = {k: v for k, v in row.items() if v is not None and not isinstance(v, (int, float))}
                if where and where not in slices:
                    slices.append(where)
        return slices

    @property
    def lines(self) -> list[str]:
        """What failed, where, observed against expected: one line per failing row."""
        return [line for e in self.expectations if not e.success for line in e.messages]

    @property
    def summary(self) -> str:
        failed = [e for e in self.expectations if not e.success]
        if not failed:
            count = len(self.expectations)
            return (
                f"{count} expectation{'s' if count > 1 else ''} passed on {self.rows_checked:,} "
                f"row{'s' if self.rows_checked != 1 else ''} of {self.scope}"
            )
        first = failed[0].messages[0] if failed[0].messages else failed[0].expectation
        more = len(self.lines) - 1
        return first + (f" (and {more} more)" if more > 0 else "") + f" · {self.scope}"


def expectation_result(
    suite: Suite, expectation: Expectation, kwargs: dict, raw: Any, params: dict
) -> ExpectationResult:
    """Words from one GE ExpectationValidationResult (raw)."""
    result = dict(raw.result or {})
    error = _error(raw.exception_info)
    examples = [_plain(row) for row in result.get("partial_unexpected_index_list") or []]
    examples.sort(key=lambda row: [str(row.get(c)) for c in suite.where if c in row])
    examples = examples[:MAX_EXAMPLES]
    outcome = ExpectationResult(
        suite=suite.name,
        asset=expectation.asset,
        check=suite.check,
        expectation=expectation.type,
        column=_columns(kwargs),
        success=bool(raw.success) and error is None,
        observed=_observed(result),
        expected=_expected(expectation.type, kwargs),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        examples=examples,
        error=error,
    )
    if not outcome.success:
        outcome.messages = _messages(expectation, outcome, result, params)
    return outcome


def failed_to_run(suite: Suite, error: Exception | str) -> list[ExpectationResult]:
    text = _first_line(str(error))
    return [
        ExpectationResult(
            suite.name,
            e.asset,
            suite.check,
            e.type,
            _columns(e.kwargs),
            False,
            observed="not evaluated",
            expected=_expected(e.type, e.kwargs),
            error=text,
            messages=[f"{suite.name}: could not be evaluated: {text}"],
        )
        for e in suite.expectations
    ]


def _messages(expectation: Expectation, outcome: ExpectationResult, result: dict, params: dict) -> list[str]:
    if outcome.error:
        return [f"{outcome.suite} {expectation.type} on {outcome.column}: could not be evaluated: {outcome.error}"]
    template = expectation.message or (
        f"{expectation.type} on {outcome.column}: {{observed}}, expected {outcome.expected}"
    )
    if outcome.examples:
        lines = [render_message(template, {**params, **row}) for row in outcome.examples]
        lines = list(dict.fromkeys(lines))
        rest = (outcome.unexpected_count or 0) - len(outcome.examples)
        if rest > 0:
            lines.append(f"... and {rest:,} more rows like these ({outcome.column}: {outcome.observed})")
        return lines
    details = (result.get("details") or {}).get("mismatched") or {}
    values = {
        **params,
        "observed": outcome.observed,
        "missing": details.get("missing") or "none",
        "unexpected": details.get("unexpected") or "none",
    }
    return [render_message(template, values)]


def _error(exception_info) -> str | None:
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return _first_line(str(info.get("exception_message") or "unknown error"))
    return None


def _first_line(text: str, limit: int = 300) -> str:
    """An error as one line: GE and DuckDB errors span several."""
    flat = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return _short(flat, limit) if flat else "unknown error"


def _columns(kwargs: dict) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return "table"


def _observed(result: dict) -> str:
    if "observed_value" in result:
        return _short(result["observed_value"])
    if result.get("element_count") is None:
        return "n/a"
    unexpected, total = result.get("unexpected_count") or 0, result["element_count"]
    return f"{unexpected:,} of {total:,} rows unexpected" if unexpected else f"all {total:,} rows as expected"


def _expected(expectation: str, kwargs: dict) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if expectation.endswith("_to_be_between"):
        if low is not None and high is not None:
            return f"between {low} and {high}"
        return f"at most {high}" if high is not None else f"at least {low}"
    if expectation.endswith("_to_be_in_set"):
        return f"one of {_short(sorted(map(str, kwargs['value_set'])))}"
    if expectation.endswith("_to_not_be_null"):
        return "not null"
    if expectation.endswith("_to_be_unique"):
        return "unique"
    if expectation.endswith("_to_be_equal"):
        return f"{kwargs['column_A']} = {kwargs['column_B']}"
    if expectation.endswith("_a_to_be_greater_than_b"):
        return f"{kwargs['column_A']} {'>=' if kwargs.get('or_equal') else '>'} {kwargs['column_B']}"
    if expectation.endswith("_to_match_set"):
        kind = "exactly" if kwargs.get("exact_match") else "at least"
        return f"{kind} the columns {_short(list(kwargs['column_set']))}"
    return _short({k: v for k, v in kwargs.items() if k != "batch_id"})


def _short(value: Any, limit: int = 160) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(row: dict) -> dict:
    """JSON-friendly values for metadata: dates as ISO text, decimals as floats."""
    plain = {}
    for key, value in row.items():
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        plain[key] = value
    return plain
