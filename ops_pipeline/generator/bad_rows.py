"""Contract-breaking rows, of every kind docs/sources.md lists, in exactly known numbers.

Bad rows are *extra* rows made from a real row of the same file with one
defect each (and, where the source has an id, a fresh id), so the good data is
untouched and ingestion must quarantine exactly what the manifest counts.
About 0.2% of each source's rows are bad; every kind of a source is forced at
least once, spread over the range, so even a short run exercises all of them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa

from ops_pipeline.contract import SOURCES
from ops_pipeline.generator.clock import DAY_MS, day_start_ms
from ops_pipeline.generator.ids import hex_ids, mix48, timestamp_strings

BAD_SHARE = 0.002
BAD_KINDS: dict[str, tuple[str, ...]] = {
    "events": ("missing_required", "wrong_type", "unknown_platform", "future_event"),
    "orders": (
        "missing_required",
        "wrong_type",
        "negative_money",
        "status_without_timestamp",
        "non_cny_currency",
        "refund_above_amount",
    ),
    "users": ("missing_required", "wrong_type"),
    "channel_spend": ("missing_required", "wrong_type", "negative_money", "clicks_above_impressions"),
    "kol_posts": ("missing_required", "wrong_type", "negative_money"),
    "content": ("missing_required", "wrong_type", "clicks_above_impressions"),
}
# (column, value) a wrong-type row gets, cycling; all unparseable as the contract type.
WRONG_TYPES = {
    "events": (("event_time", "yesterday"),),
    "orders": (("amount", "abc"), ("created_at", "yesterday")),
    "users": (("registered_at", "yesterday"),),
    "channel_spend": (("impressions", "1.5k"), ("spend", "三百")),
    "kol_posts": (("views", "3.2w"),),
    "content": (("exposures", "12k"), ("clicks", "n/a")),
}
ID_COLUMN = {"events": ("event_id", "ex"), "orders": ("order_id", "ox"), "users": ("user_id", "ux")}


class BadRowPlan:
    """Decides how many bad rows of which kind go into each day's file of a source."""

    def __init__(self, days: int) -> None:
        self.carry = {s: 0.0 for s in BAD_KINDS}
        self.turn = {s: 0 for s in BAD_KINDS}
        self.deferred: dict[str, list[str]] = {s: [] for s in BAD_KINDS}
        self.forced = {s: {} for s in BAD_KINDS}
        for source, kinds in BAD_KINDS.items():
            for k, kind in enumerate(kinds):
                self.forced[source].setdefault(int((k + 0.5) * days / len(kinds)), []).append(kind)
        self.cycle: Counter = Counter()  # per (source, kind): which column/value variant is next

    def kinds(self, source: str, day: int, good_rows: int) -> list[str]:
        self.carry[source] += BAD_SHARE * good_rows
        n = int(self.carry[source])
        self.carry[source] -= n
        kinds = BAD_KINDS[source]
        chosen = [kinds[(self.turn[source] + i) % len(kinds)] for i in range(n)]
        self.turn[source] += n
        chosen = self.deferred[source] + self.forced[source].get(day, []) + chosen
        self.deferred[source] = []
        return chosen

    def defer(self, source: str, kinds: list[str]) -> None:
        """No row to copy today (e.g. no order yet): try again tomorrow."""
        self.deferred[source] += kinds

    def variant(self, source: str, kind: str, options: int) -> int:
        i = self.cycle[(source, kind)] % options
        self.cycle[(source, kind)] += 1
        return i


def make_bad_rows(
    plan: BadRowPlan,
    source: str,
    table: pa.Table,
    kinds: list[str],
    rng: np.random.Generator,
    *,
    seed: int,
    start,
    day: int,
    counter: int,
) -> tuple[list[dict], Counter]:
    """One defective copy of a random good row per kind. `counter` numbers the fresh ids."""
    templates = _templates(source, table)
    rows, counts = [], Counter()
    for i, kind in enumerate(kinds):
        row = dict(table.slice(int(templates[rng.integers(len(templates))]), 1).to_pylist()[0])
        if source in ID_COLUMN:
            column, prefix = ID_COLUMN[source]
            row[column] = hex_ids(prefix, mix48(np.array([counter + i]), seed, "bad"))[0].as_py()
        _corrupt(plan, source, kind, row, rng, start, day)
        rows.append(row)
        counts[kind] += 1
    return rows, counts


def _templates(source: str, table: pa.Table) -> np.ndarray:
    """Rows a defect can be grafted on without creating a second defect."""
    if source == "orders":  # first rows only: a refunded row already has refund fields
        status = np.array(table.column("status").to_pylist())
        ok = np.nonzero(np.isin(status, ["created", "paid"]))[0]
        return ok if len(ok) else np.arange(table.num_rows)
    return np.arange(table.num_rows)


def _corrupt(plan: BadRowPlan, source: str, kind: str, row: dict, rng: np.random.Generator, start, day: int) -> None:
    if kind == "missing_required":
        required = SOURCES[source].required
        row[required[plan.variant(source, kind, len(required))]] = None
    elif kind == "wrong_type":
        column, value = WRONG_TYPES[source][plan.variant(source, kind, len(WRONG_TYPES[source]))]
        row[column] = value
    elif kind == "negative_money":
        column = {"orders": "amount", "channel_spend": "spend", "kol_posts": "fee"}[source]
        row[column] = -row[column] if isinstance(row[column], float) else f"-{row[column]}"
        if row[column] in ("-0.00", "-0", 0.0):
            row[column] = -1999.0 if source == "kol_posts" else "-19.90"
    elif kind == "clicks_above_impressions":
        column = "impressions" if source == "channel_spend" else "exposures"
        row["clicks"] = str(int(row[column]) + 1 + int(row[column]) // 10)
    elif kind == "unknown_platform":
        row["platform"] = "harmony_os"
    elif kind == "future_event":
        ms = day_start_ms(start, day) + int(rng.integers(3, 21)) * DAY_MS + int(rng.integers(0, DAY_MS))
        row["event_time"] = timestamp_strings(np.array([ms]), "utc_z")[0].as_py()
    elif kind == "non_cny_currency":
        row["currency"] = "USD"
    elif kind == "status_without_timestamp":
        if plan.variant(source, kind, 2) == 0:
            row.update(status="paid", paid_at=None)
        else:
            row.update(
                status="refunded",
                paid_at=row["paid_at"] or row["created_at"],
                refunded_at=None,
                refund_amount=row["amount"],
            )
    elif kind == "refund_above_amount":
        above = f"{float(row['amount']) + 10:.2f}"
        row.update(
            status="refunded",
            paid_at=row["paid_at"] or row["created_at"],
            refunded_at=row["updated_at"],
            refund_amount=above,
        )
    else:
        raise ValueError(kind)


def with_bad_rows(table: pa.Table, bad: list[dict], rng: np.random.Generator) -> pa.Table:
    """The table with the bad rows inserted at random positions (string-typed where a wrong type needs it)."""
    if not bad:
        return table
    schema = table.schema
    for i, field in enumerate(schema):
        if not pa.types.is_string(field.type) and any(isinstance(r.get(field.name), str) for r in bad):
            # A typed (Parquet) column holding a wrong-type value: the whole column is text that day.
            schema = schema.set(i, pa.field(field.name, pa.string()))
            for r in bad:
                if r.get(field.name) is not None and not isinstance(r[field.name], str):
                    r[field.name] = str(r[field.name])
    table = table.cast(schema) if schema != table.schema else table
    combined = pa.concat_tables([table, pa.Table.from_pylist(bad, schema=schema)])
    keys = np.concatenate([np.arange(table.num_rows, dtype=float), rng.uniform(0, table.num_rows, len(bad))])
    return combined.take(np.argsort(keys, kind="stable"))
