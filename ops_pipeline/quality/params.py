"""What a suite's SQL and messages may refer to: the run window and rendered values."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ops_pipeline.contract import EVENT_NAMES, EVENT_PLATFORMS, RAW_META_COLUMNS, SOURCES
from ops_pipeline.settings import lookback_days as dbt_lookback_days

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SQL_FRAGMENT = re.compile(r"[A-Za-z0-9_., ()]*")


@dataclass(frozen=True)
class RunWindow:
    """The landing days a run built, and what the models did with them."""

    start: date
    end: date
    timezone: str = "Asia/Shanghai"
    lookback_days: int = field(default_factory=dbt_lookback_days)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def window_start(self) -> date:
        """The first business date the incremental models recomputed (min_date - lookback_days)."""
        return self.start - timedelta(days=self.lookback_days)

    @property
    def label(self) -> str:
        return range_label(self.start, self.end)


def range_label(first: date, last: date) -> str:
    return str(first) if first == last else f"{first}..{last}"


def runtime_params(window: RunWindow, suite_params: dict) -> dict[str, Any]:
    source = suite_params.get("source")
    extra_names = list(suite_params.get("extra_event_names") or [])
    params: dict[str, Any] = {
        "start": window.start,
        "end": window.end,
        "window_start": window.window_start,
        # a business date starts up to 14 hours before its UTC date: a safe lower bound on event_time
        "window_start_utc": datetime.combine(window.window_start - timedelta(days=1), time(), UTC),
        "lookback_days": window.lookback_days,
        "timezone": window.timezone,
        "now": window.now,
        "run_label": window.label,
        "event_names": [*EVENT_NAMES, *extra_names],
        "event_platforms": list(EVENT_PLATFORMS),
    }
    if source in SOURCES:
        params["raw_columns"] = SOURCES[source].column_names + [name for name, _ in RAW_META_COLUMNS]
    return params


def sql_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return f"timestamptz '{value.astimezone(UTC).isoformat()}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, (list, tuple, set)):
        return "(" + ", ".join(sql_literal(v) for v in value) + ")" if value else "(null)"
    return "'" + str(value).replace("'", "''") + "'"


class SqlFormatter(string.Formatter):
    """{name} renders a SQL literal; {name:name} an identifier; {name:sql} a checked fragment
    such as a table or column list; {name:sql_block} SQL that code (never a suite file) built."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "name":
            if not IDENTIFIER.fullmatch(str(value)):
                raise ValueError(f"not an identifier: {value!r}")
            return str(value)
        if format_spec == "sql_block":  # SQL built by code, never from a suite file
            return str(value)
        if format_spec == "sql":
            if not SQL_FRAGMENT.fullmatch(str(value)):
                raise ValueError(f"not a plain column list: {value!r}")
            return str(value)
        if format_spec:
            raise ValueError(f"unknown SQL format {format_spec!r}")
        return sql_literal(value)


class MessageFormatter(string.Formatter):
    """str.format for messages that never fails: None -> 'none', a missing field -> '?'."""

    def get_value(self, key, args, kwargs):
        if isinstance(key, str):
            return kwargs.get(key, "?")
        return super().get_value(key, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "none"
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            return str(value)


def render_message(template: str, values: dict) -> str:
    return MessageFormatter().format(template, **values)
