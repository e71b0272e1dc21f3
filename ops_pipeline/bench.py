"""`ops-pipeline bench`: how fast the pipeline is, stage by stage, against the floor.

On a generated dataset of the requested size it measures:
* each stage of a full run (generate, ingest, dbt build, checks, publish, monitors):
  seconds, rows per second, and peak memory of this process with its children (dbt);
* the floor: the same compiled dbt SQL (models and data tests) run directly in one
  DuckDB session in dependency order, without Dagster or dbt around it;
* an incremental day: one more landing day on top of the history, against the full run;
  the best of INCREMENTAL_DAYS such days, one after the other, as this machine's speed wanders;
* the fixed cost of a run: the same incremental days on a history of 1% of the events,
  where almost nothing is left but starting Dagster's run, the dbt process and the
  checks. Above it, the incremental day is the work that grows with the data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from dagster import DagsterEventType

from ops_pipeline import warehouse
from ops_pipeline.dbt_resource import DBT_EXECUTABLE
from ops_pipeline.settings import DBT_PROJECT_DIR, Settings

EVENTS_PER_USER_DAY = 0.65  # events the generator makes per person of its population per day (measured over 90 days)
BENCH_START = date(2026, 1, 1)
FIXED_COST_SHARE = 0.01  # of the events, for the history whose incremental day measures the fixed cost
INCREMENTAL_DAYS = 2  # landing days run one by one after the history; the fastest one is reported


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class BenchReport:
    days: int
    users: int
    events: int = 0
    rows: int = 0
    stages: list[Stage] = field(default_factory=list)
    pipeline_seconds: float = 0.0
    floor_seconds: float = 0.0
    incremental_seconds: float = 0.0  # the fastest of incremental_runs
    incremental_runs: list[float] = field(default_factory=list)
    fixed_seconds: float | None = None  # incremental_seconds of the same bench on a 1% history
    peak_rss_mb: float = 0.0

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def pipeline_over_floor(self) -> float | None:
        dbt = self.stage("dbt build")
        return dbt.seconds / self.floor_seconds if dbt and self.floor_seconds else None

    @property
    def incremental_over_full(self) -> float | None:
        return self.incremental_seconds / self.pipeline_seconds if self.pipeline_seconds else None

    @property
    def incremental_over_full_above_fixed(self) -> float | None:
        """The incremental day against the full run, both less the fixed cost of a run."""
        if self.fixed_seconds is None or self.pipeline_seconds <= self.fixed_seconds:
            return None
        return (self.incremental_seconds - self.fixed_seconds) / (self.pipeline_seconds - self.fixed_seconds)

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "pipeline_over_floor": self.pipeline_over_floor,
            "incremental_over_full": self.incremental_over_full,
            "incremental_over_full_above_fixed": self.incremental_over_full_above_fixed,
        }

    def table(self) -> str:
        lines = [
            f"{self.events:,} events ({self.rows:,} rows in all sources), {self.days} days, {self.users:,} users",
            f"{'stage':<12}{'seconds':>10}{'rows/s':>14}{'peak MB':>10}",
        ]
        lines += [
            f"{s.name:<12}{s.seconds:>10.1f}{s.rows_per_second:>14,.0f}{s.peak_rss_mb:>10,.0f}" for s in self.stages
        ]
        ratio = lambda value: "n/a" if value is None else f"{value:.2f}"  # noqa: E731
        lines += [
            f"whole pipeline (ingest .. monitors): {self.pipeline_seconds:.1f} s, peak {self.peak_rss_mb:,.0f} MB",
            f"floor (compiled SQL in one DuckDB session): {self.floor_seconds:.1f} s; "
            f"dbt build / floor = {ratio(self.pipeline_over_floor)}",
            f"incremental day: {self.incremental_seconds:.1f} s (best of "
            f"{', '.join(f'{s:.1f}' for s in self.incremental_runs)}); "
            f"incremental / full = {ratio(self.incremental_over_full)}",
        ]
        if self.fixed_seconds is not None:
            lines.append(
                f"fixed cost of a run (the same on a 1% history): {self.fixed_seconds:.1f} s; "
                f"above it, incremental / full = {ratio(self.incremental_over_full_above_fixed)}"
            )
        return "\n".join(lines)


class MemorySampler:
    """Samples the resident memory of this process and all its descendants, with wall-clock times."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = float("-inf"), end: float = float("inf")) -> float:
        return max((mb for t, mb in self.samples if start <= t <= end), default=0.0)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _tree_rss_mb(os.getpid())))
            self._stop.wait(self.interval)


def _tree_rss_mb(pid: int) -> float:
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total_kb / 1024


def _stage_of(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "ingest"
    if step_key == "dbt_models":
        return "dbt build"
    if step_key.startswith("serving"):
        return "publish"
    if step_key.startswith("monitoring"):
        return "monitors"
    return "checks"


def step_windows(instance, run_id: str) -> dict[str, list[tuple[float, float]]]:
    """Stage name -> the (start, end) wall-clock windows of its steps, from the run's event log."""
    starts: dict[str, float] = {}
    windows: dict[str, list[tuple[float, float]]] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            window = (starts.get(event.step_key, record.timestamp), record.timestamp)
            windows.setdefault(_stage_of(event.step_key), []).append(window)
    return windows


def run_bench(out_dir: Path, events: int, days: int, seed: int = 7, fixed_cost: bool = True) -> BenchReport:
    from ops_pipeline.generator import generate
    from ops_pipeline.pipeline import dagster_instance, run

    users = max(1000, round(events / (days * EVENTS_PER_USER_DAY)))
    report = BenchReport(days=days, users=users)
    shutil.rmtree(out_dir, ignore_errors=True)
    settings = replace(
        Settings.from_env(),
        landing_dir=out_dir / "landing",
        warehouse=out_dir / "warehouse.duckdb",
        instance_dir=out_dir / "dagster_home",
        partition_start=BENCH_START.isoformat(),
        serving=out_dir / "serving.duckdb",
    )
    last_day = BENCH_START + timedelta(days=days - 1)
    with MemorySampler() as memory:
        began = time.time()
        manifest = generate(settings.landing_dir, BENCH_START, days + INCREMENTAL_DAYS, users, seed=seed)
        generated = time.time()
        per_source = {
            s: sum(v for d, v in by_day.items() if d <= last_day.isoformat()) for s, by_day in manifest["rows"].items()
        }
        report.events, report.rows = per_source["events"], sum(per_source.values())
        report.stages.append(
            Stage(
                "generate",
                generated - began,
                report.rows
                + sum(v for by_day in manifest["rows"].values() for d, v in by_day.items() if d > last_day.isoformat()),
                memory.peak(began, generated),
            )
        )

        parse_dbt_project(settings)
        began = time.time()
        outcome = run(settings, None, last_day, out_dir / "full_run.log")
        report.pipeline_seconds = time.time() - began
        if not outcome.success:
            raise RuntimeError(f"benchmark run failed: {outcome.failures}")
        for name, windows in step_windows(dagster_instance(settings), outcome.run_id).items():
            rows = report.rows if name == "ingest" else report.events
            seconds = sum(end - start for start, end in windows)
            report.stages.append(Stage(name, seconds, rows, max(memory.peak(*w) for w in windows)))
        report.peak_rss_mb = memory.peak(began)

    report.floor_seconds = measure_floor(settings.warehouse, out_dir)
    for number in range(1, INCREMENTAL_DAYS + 1):
        day = last_day + timedelta(days=number)
        began = time.time()
        outcome = run(settings, day, day, out_dir / f"incremental_{number}.log")
        report.incremental_runs.append(time.time() - began)
        if not outcome.success:
            raise RuntimeError(f"incremental run of {day} failed: {outcome.failures}")
    report.incremental_seconds = min(report.incremental_runs)
    if fixed_cost:
        small = run_bench(out_dir / "fixed_cost", round(events * FIXED_COST_SHARE), days, seed, fixed_cost=False)
        report.fixed_seconds = small.incremental_seconds
    return report


def parse_dbt_project(settings: Settings) -> None:
    """Parse the dbt project for this warehouse, untimed. dbt parses the whole project again
    when its connection (the warehouse path) changes: a deployment pays that once, on its
    first run, and the benchmark's full run stands for every full run after it."""
    _dbt(["parse"], settings.warehouse, OPS_TIMEZONE=settings.timezone)  # as the pipeline's dbt runs see it


def _dbt(args: list[str], warehouse_path: Path, **env: str) -> None:
    """A dbt command on the project, for the warehouse at warehouse_path (and more environment)."""
    subprocess.run(
        [
            DBT_EXECUTABLE,
            *args,
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, **env, "OPS_WAREHOUSE": str(warehouse_path)},
    )


def measure_floor(warehouse_path: Path, out_dir: Path) -> float:
    """Seconds to run the compiled models and data tests directly in one DuckDB session."""
    floor_db = out_dir / "floor.duckdb"
    shutil.copyfile(warehouse_path, floor_db)
    with warehouse.connect(floor_db) as conn:
        for (schema,) in conn.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database() "
            "and schema_name not in ('raw', 'main', 'information_schema', 'pg_catalog')"
        ).fetchall():
            conn.execute(f'drop schema "{schema}" cascade')
    target = out_dir / "floor_target"
    _dbt(["compile", "--target-path", str(target), "--log-path", str(out_dir / "floor_logs")], floor_db)
    statements = compiled_statements(json.loads((target / "manifest.json").read_text()))
    with warehouse.connect(floor_db) as conn:
        began = time.time()
        for sql in statements:
            conn.execute(sql).fetchall()
        return time.time() - began


def compiled_statements(manifest: dict) -> list[str]:
    """The models (as create statements) and data tests (as counts) in dependency order."""
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "test") and node.get("compiled_code")
    }
    ordered, done = [], set()

    def visit(uid: str) -> None:
        if uid in done or uid not in nodes:
            return
        done.add(uid)
        for parent in nodes[uid]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(nodes[uid])

    for uid in sorted(nodes):
        visit(uid)
    schemas = sorted({n["schema"] for n in ordered if n["resource_type"] == "model"})
    statements = [f'create schema if not exists "{schema}"' for schema in schemas]
    for node in ordered:
        sql = node["compiled_code"]
        if node["resource_type"] == "test":
            statements.append(f"select count(*) from ({sql}) as failures")
        else:
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            statements.append(f'create or replace {kind} "{node["schema"]}"."{node["name"]}" as {sql}')
    return statements
