"""generate(): the day loop that writes a landing folder and its manifest.

One day is simulated, written and dropped before the next; what crosses days
is small and bounded (late events of yesterday, order status changes due in
the next ten days), so memory does not grow with the range.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from ops_pipeline.contract import SOURCES, SPARSE_SOURCES
from ops_pipeline.generator import incidents as incident_rules
from ops_pipeline.generator import planning
from ops_pipeline.generator.bad_rows import BadRowPlan, make_bad_rows, with_bad_rows
from ops_pipeline.generator.clock import day_label
from ops_pipeline.generator.days import Counters, simulate_day
from ops_pipeline.generator.incidents import Incident
from ops_pipeline.generator.marketing import content_table, kol_table, spend_tables
from ops_pipeline.generator.orders import OrderRows, status_changes
from ops_pipeline.generator.tables import backfilled_accounts, events_table, orders_table, users_table
from ops_pipeline.generator.world import build_world
from ops_pipeline.generator.writers import LandingWriter

LATE_SHARE, DUPLICATE_SHARE, DUPLICATE_NEXT_DAY = 0.02, 0.005, 0.2


def _quirks(source: str, day: int) -> tuple[str, ...]:
    """File-level quirks on a few days (small residues, so short ranges have them too)."""
    rules = {
        "events": ((9, 2, "extra_column:sdk_build=2603.17"), (11, 3, "header_case")),
        "orders": ((10, 4, "header_case"), (12, 6, "column_order")),
        "users": ((8, 5, "extra_column:invite_code=SPRING26"),),
        "channel_spend": ((7, 1, "column_order"),),
        "content": ((6, 1, "bom"), (9, 7, "extra_column:editor=运营小组")),
    }
    return tuple(q for every, residue, q in rules.get(source, ()) if day % every == residue)


class _Run:
    def __init__(self, out: Path, days: int) -> None:
        self.writer = LandingWriter(out)
        self.plan = BadRowPlan(days)
        self.bad: dict[str, Counter] = defaultdict(Counter)
        self.bad_by_file: dict[str, dict[str, int]] = {}
        self.counters = Counters()
        self.duplicates = self.late = self.restated = self.backfilled = 0

    def emit(self, world, source: str, day: int, table: pa.Table, fmt: str, suffix: str = "", bad: bool = True) -> None:
        rng = np.random.default_rng([world.seed, 7, day, list(SOURCES).index(source)])
        if bad:
            kinds = self.plan.kinds(source, day, table.num_rows)
            if kinds and table.num_rows == 0:
                self.plan.defer(source, kinds)
            elif kinds:
                rows, counts = make_bad_rows(
                    self.plan,
                    source,
                    table,
                    kinds,
                    rng,
                    seed=world.seed,
                    start=world.start,
                    day=day,
                    counter=self.counters.bad,
                )
                self.counters.bad += len(rows)
                table = with_bad_rows(table, rows, rng)
                self.bad[source].update(counts)
                self.bad_by_file[f"{source}/{day_label(world.start, day)}{suffix}.{fmt}"] = dict(sorted(counts.items()))
        self.writer.write(source, day_label(world.start, day), table, fmt, suffix, quirks=_quirks(source, day))


def generate(
    out_dir: str | Path,
    start: date,
    days: int,
    users: int,
    seed: int = 7,
    incidents: Sequence[str | Incident] = (),
    progress: bool = False,
    plan: bool = False,
) -> dict:
    """Writes <out_dir>/<source>/<YYYY-MM-DD><suffix>.<ext> for the six daily sources and
    <out_dir>/manifest.json; returns the manifest dict. With `plan`, also the planning sources
    (campaigns, targets, experiments) and their effects (generator/planning.py)."""
    if days < 1 or users < 1:
        raise ValueError("days and users must be at least 1")
    out = Path(out_dir)
    world = build_world(start, days, users, seed)
    active = incident_rules.resolve(list(incidents), world)
    the_plan = planning.make_plan(world, days) if plan else planning.Plan((), ())
    realised = {name: np.zeros(days) for name in ("new_users", "orders", "planned_orders", "planned_base")}
    run = _Run(out, days)
    pending: dict[int, list[OrderRows]] = defaultdict(list)
    late_rows: pa.Table | None = None
    try:
        for day in tqdm(range(days), disable=not progress, unit="day", desc="generating"):
            effects = incident_rules.effects(active, day)
            activity = simulate_day(world, day, effects, run.counters, the_plan)
            realised["new_users"][day], realised["orders"][day] = len(activity.registrations), len(activity.orders)
            realised["planned_orders"][day], realised["planned_base"][day] = activity.planned_orders
            rng = np.random.default_rng([seed, 6, day])
            events = events_table(world, activity, run.counters, rng, the_plan.exposure_labels)
            if late_rows is not None:  # yesterday's held-back events arrive today
                run.emit(world, "events", day, late_rows, "jsonl", "_late", bad=False)
            main, late_rows = _hold_back_and_resend(run, events, rng, last_day=day == days - 1)
            run.emit(world, "events", day, main, "csv")

            for landing, rows in status_changes(world, day, activity.orders):
                pending[landing].append(rows)
            todays = OrderRows.concat([activity.orders, *pending.pop(day, [])])
            run.emit(world, "orders", day, orders_table(world, todays), "csv")
            persons, registered_ms = activity.registrations, activity.registered_ms
            if day == 0:  # the first export also carries every account opened before the range
                old, old_ms = backfilled_accounts(world, rng)
                run.backfilled = len(old)
                persons, registered_ms = np.concatenate([old, persons]), np.concatenate([old_ms, registered_ms])
            run.emit(world, "users", day, users_table(world, persons, registered_ms, rng), "jsonl")
            spend, restated = spend_tables(world, day)
            run.emit(world, "channel_spend", day, spend, "csv")
            if restated is not None:
                run.restated += restated.num_rows
                run.emit(world, "channel_spend", day, restated, "csv", "_restated", bad=False)
            run.emit(world, "kol_posts", day, kol_table(world, day, effects.viral), "parquet")
            run.emit(world, "content", day, content_table(world, day), "csv")
        if plan:
            _emit_plan(run, world, the_plan, days, realised)
    finally:
        run.writer.close()
    manifest = _manifest(run, world, active, start, days, users, seed, incidents)
    if plan:
        manifest["plan"] = planning.manifest_entry(the_plan, world, realised)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def _emit_plan(run: _Run, world, plan: planning.Plan, days: int, realised: dict[str, np.ndarray]) -> None:
    """The sparse planning files: the campaign plan before the first campaign and its final snapshot
    (with costs) after the last; the experiments on their start; the month's targets on its first day.
    The first file of each source carries one row that breaks the contract (planning.BAD_ROWS)."""
    files = []
    if plan.campaigns:
        first, last = min(c.start_day for c in plan.campaigns), max(c.end_day for c in plan.campaigns)
        files.append(("campaigns", max(first - 3, 0), planning.campaigns_table(plan, world, costs=False)))
        files.append(("campaigns", last + 1, planning.campaigns_table(plan, world, costs=True)))
    if plan.experiments:
        files.append(
            ("experiments", min(e.start_day for e in plan.experiments), planning.experiments_table(plan, world))
        )
    files.append(("targets", *planning.targets_table(world, days, realised)))
    for source, day, table in files:
        if source not in run.bad:
            kind, table = planning.with_bad_row(source, table)
            run.bad[source][kind] += 1
            run.bad_by_file[f"{source}/{day_label(world.start, day)}.csv"] = {kind: 1}
        run.emit(world, source, day, table, "csv", bad=False)


def _hold_back_and_resend(
    run: _Run, events: pa.Table, rng: np.random.Generator, last_day: bool
) -> tuple[pa.Table, pa.Table | None]:
    """Split today's events into (today's file, tomorrow's _late file).

    ~2% arrive a day late; ~0.5% are sent twice (SDK retries): the copy lands right
    after its original, or sometimes in tomorrow's late file. Nothing is held back
    on the last day, as no later file would carry it.
    """
    n = events.num_rows
    late = (rng.random(n) < LATE_SHARE) & (not last_day)
    dup = rng.random(n) < DUPLICATE_SHARE
    dup_next = dup & ~late & (rng.random(n) < DUPLICATE_NEXT_DAY) & (not last_day)
    keep = np.nonzero(~late)[0]
    copies = np.nonzero(dup & ~late & ~dup_next)[0]
    # Position of each copy: just after its original among the kept rows.
    keys = np.concatenate([np.arange(len(keep), dtype=float), np.searchsorted(keep, copies) + 0.5])
    main = events.take(np.concatenate([keep, copies])[np.argsort(keys, kind="stable")])
    held = np.concatenate([np.nonzero(late)[0], np.nonzero(dup & late)[0], np.nonzero(dup_next)[0]])
    run.duplicates += int(dup.sum())
    run.late += int(late.sum())
    return main, (None if last_day else events.take(held))


def _manifest(run: _Run, world, active, start: date, days: int, users: int, seed: int, incidents) -> dict:
    writer = run.writer
    people = world.people
    sources = [s for s in SOURCES if s not in SPARSE_SOURCES or s in writer.rows]
    return {
        "generator": "ops_pipeline.generator",
        "params": {
            "start": start.isoformat(),
            "days": days,
            "users": users,
            "seed": seed,
            "incidents": [i if isinstance(i, str) else i.spec() for i in incidents],
        },
        "date_range": {"first": day_label(start, 0), "last": day_label(start, days - 1)},
        "timezone": "Asia/Shanghai",
        "rows": {s: dict(sorted(writer.rows[s].items())) for s in sources},
        "files": dict(sorted(writer.files.items())),
        "bad_rows": {s: dict(sorted(run.bad[s].items())) for s in sources},
        "bad_rows_by_file": dict(sorted(run.bad_by_file.items())),
        "duplicate_events": run.duplicates,
        "late_events": run.late,
        "restated_spend_rows": run.restated,
        "file_quirks": dict(sorted(writer.variants.items())),
        "population": {
            "persons": int(people.regular),
            "first_visit_before_range": int((people.first_day < 0).sum()),
            "first_visit_in_range": int(((people.first_day >= 0) & (people.first_day < days)).sum()),
            "registered_before_range": run.backfilled,
            "registered_in_range": int(((people.reg_day >= 0) & (people.reg_day < days)).sum()),
            "viral_reserve": int(people.size - people.regular),
        },
        "backfilled_users": {
            "file": f"users/{day_label(start, 0)}.jsonl",
            "rows": run.backfilled,
            "note": "accounts opened before the first day (registered_at before the range)",
        },
        "incidents": [a.manifest_entry(world) for a in active],
    }
