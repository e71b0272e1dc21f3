"""Run the pipeline job over the landing days found, and summarise what it did.

The CLI calls these functions; they launch the same job of the same
Definitions that the UI shows, on the same Dagster instance, so a command-line
run appears in the UI with its logs.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
from dagster import DagsterEventType, DagsterInstance
from dagster._core.utils import make_new_run_id

from ops_pipeline import landing, warehouse
from ops_pipeline.changes import landing_changes
from ops_pipeline.instance import dagster_instance, fail_dead_runs, process_tags
from ops_pipeline.partitions import before_first_partition, first_partition, range_tags
from ops_pipeline.quality.report import failed_check_lines_from_events
from ops_pipeline.review.summary import review_lines
from ops_pipeline.settings import Settings, lookback_days
from ops_pipeline.warehouse import WarehouseLocked, writer_lock

log = logging.getLogger(__name__)


class PipelineError(Exception):
    """A run that cannot start or did not succeed; the message says why."""


class NothingToBuild(PipelineError):
    """No landing day is new or changed since the last successful run."""


@dataclass
class RunOutcome:
    run_id: str
    first_day: date
    last_day: date
    success: bool
    failures: list[str] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    log_file: Path | None = None
    check_lines: list[str] = field(default_factory=list)  # data-quality checks that failed or warn
    alerts: list = field(default_factory=list)  # alerts raised or announced for this run
    dead_runs: list[str] = field(default_factory=list)  # earlier runs found dead and marked failed
    instance: DagsterInstance | None = None  # None: the run never started (its disk is full)
    weekly_report: WeeklyReportOutcome | None = None  # the week this run completed, its report built


@dataclass
class WeeklyReportOutcome:
    week: str
    html: Path
    pdf: Path
    success: bool
    error: str | None = None


@contextmanager
def _console_to(log_file: Path | None, mode: str = "w"):
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, mode, encoding="utf-8") as sink, redirect_stdout(sink), redirect_stderr(sink):
        yield


def landing_range(settings: Settings, start: date | None, end: date | None) -> tuple[date, date]:
    """The first and last landing day to build: the files found, clipped to [start, end].

    Refuses to start while the landing folder holds a file it must not read (one that resolves
    outside it, or a landing day later than tomorrow in the reporting time zone), whatever the
    range: such a file is a delivery mistake that nothing would ever load or report otherwise.
    Entries of the source folders that are not landing files are not read, each logged as a warning."""
    found = landing.scan(settings.landing_dir, timezone=settings.timezone)
    for ignored in found.ignored:
        log.warning("landing folder: ignored %s", ignored)
    if found.refused:
        raise PipelineError(found.refusal())
    days = [d for d in found.days() if (not start or d >= start) and (not end or d <= end)]
    if not days:
        where = f" between {start or '...'} and {end or '...'}" if start or end else ""
        raise PipelineError(f"no landing files{where} in {settings.landing_dir}")
    first = first_partition(settings)
    if (start or days[0]) < first:
        raise PipelineError(before_first_partition(start or days[0], first))
    return start or days[0], end or days[-1]


def days_to_build(
    settings: Settings, instance: DagsterInstance, start: date | None, end: date | None, everything: bool
) -> tuple[date, date]:
    """--start/--end or --all: that range of the landing folder; otherwise the days new or changed
    since the last successful run (changes.py), first to last."""
    if start or end or everything:
        return landing_range(settings, start, end)
    changes = landing_changes(settings, instance)
    if changes.refusal:
        raise PipelineError(changes.refusal)
    if not changes.days:
        raise NothingToBuild(
            f"nothing to build: {changes.describe()} in {settings.landing_dir} since the last successful run "
            "(--all rebuilds every landing day)"
        )
    return landing_range(settings, changes.days[0], changes.days[-1])


def run(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    log_file: Path | None = None,
    *,
    everything: bool = False,
    wait: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Build the landing days that changed (or [start, end], or --all every day), then everything
    downstream, in one run of the pipeline job.

    One run writes a warehouse at a time: with wait, this one waits for the run holding the
    warehouse (saying so); without, it refuses. With log_file, the run's console output (Dagster
    and dbt logs) goes there instead of the terminal; the Dagster instance keeps the same logs.
    progress receives a line per step as the run goes.
    """
    from ops_pipeline.definitions import PIPELINE_JOB

    run_id = make_new_run_id()
    folders = [settings.warehouse.parent, settings.dagster_home, *([log_file.parent] if log_file else [])]
    try:
        outcome = _execute(settings, run_id, start, end, log_file, everything, wait, progress)
        full = None if outcome.success else _full_disk(folders, *outcome.failures)
    except PipelineError:
        raise
    except Exception as error:
        # The disk under the warehouse (or its Dagster instance, or the run log) filled up: Dagster's
        # storage, the log file or DuckDB failed before the run could record its own failure.
        full = _full_disk(folders, error)
        if full is None:
            raise
        outcome = RunOutcome(run_id, start, end, False, log_file=log_file)
    if full is not None:
        outcome.failures.insert(0, warehouse.disk_full_message(settings.warehouse, full))
    _collect_alerts(settings, outcome, PIPELINE_JOB)
    if outcome.success:
        outcome.weekly_report = report_completed_week(settings, outcome, log_file, progress)
    return outcome


def report_completed_week(
    settings: Settings,
    outcome: RunOutcome,
    log_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> WeeklyReportOutcome | None:
    """After a successful run, the report of the last complete week, when the run rebuilt any of its
    days (its first landing day minus the lookback is on or before the week's Sunday): one run of
    the weekly_report job for that week's partition, on the same instance."""
    from ops_pipeline.definitions import WEEKLY_REPORT_JOB, build_definitions
    from ops_pipeline.weekly.build import latest_week, report_dir
    from ops_pipeline.weekly.weeks import WeekError

    try:
        week = latest_week(settings)
    except (WeekError, duckdb.Error):  # no complete week yet, or no marts (a run of the sources only)
        return None
    if outcome.first_day and week.end < outcome.first_day - timedelta(days=lookback_days()):
        return None
    folder = report_dir(settings)
    done = WeeklyReportOutcome(str(week), folder / f"{week}.html", folder / f"{week}.pdf", False)
    if progress:
        progress(f"weekly report {week} ...")
    job = build_definitions(settings).resolve_job_def(WEEKLY_REPORT_JOB)
    # The report's logs follow the run's in the same log file.
    with writer_lock(settings.warehouse, outcome.run_id, wait=True), _console_to(log_file, "a"):
        result = job.execute_in_process(
            instance=outcome.instance, partition_key=week.start.isoformat(), tags=process_tags(), raise_on_error=False
        )
    done.success = result.success
    if not result.success:
        failures = [
            step_failure_reason(event.step_failure_data)
            for event in result.all_events
            if event.event_type == DagsterEventType.STEP_FAILURE
        ]
        done.error = "; ".join(failures) or "the weekly_report run failed; see its logs in the Dagster UI"
    return done


def _full_disk(folders: list[Path], *errors) -> Path | None:
    """The folder whose disk is full, when the errors say so or a probe finds no room; else None."""
    if any(warehouse.out_of_space(error) for error in errors):
        return warehouse.no_room(*folders) or folders[0]
    return warehouse.no_room(*folders)


def _execute(
    settings: Settings,
    run_id: str,
    start: date | None,
    end: date | None,
    log_file: Path | None,
    everything: bool,
    wait: bool,
    progress: Callable[[str], None] | None,
) -> RunOutcome:
    from ops_pipeline.definitions import PIPELINE_JOB, build_definitions

    instance = dagster_instance(settings)
    dead = fail_dead_runs(instance, settings.warehouse)
    first_day, last_day = days_to_build(settings, instance, start, end, everything)
    notice = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        with writer_lock(settings.warehouse, run_id, wait=wait, on_wait=notice):
            job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
            if progress:
                progress(f"building landing days {first_day} .. {last_day} (run {run_id[:8]})")
            with _console_to(log_file), StepProgress(instance, run_id, progress):
                result = job.execute_in_process(
                    instance=instance,
                    run_id=run_id,
                    tags={**range_tags(first_day, last_day), **process_tags()},
                    raise_on_error=False,
                )
    except WarehouseLocked as locked:
        raise PipelineError(f"{locked}; not waiting (--no-wait)") from None
    outcome = RunOutcome(
        result.run_id,
        first_day,
        last_day,
        result.success,
        log_file=log_file,
        check_lines=failed_check_lines_from_events(result.all_events),
        dead_runs=dead,
        instance=instance,
    )
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            outcome.failures.append(f"{event.step_key}: {step_failure_reason(event.step_failure_data)}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.to_user_string()
            if key not in outcome.materialized:
                outcome.materialized.append(key)
    if not outcome.success and not outcome.failures:
        outcome.failures.append("the run failed; see its logs in the Dagster UI")
    return outcome


def step_failure_reason(failure) -> str:
    user_message = failure.user_failure_data
    if user_message and user_message.description:
        return user_message.description
    error = failure.error
    if error is None:
        return "unknown error"
    # Dagster wraps what the step raised ("Error occurred while executing op ..."): say what it raised.
    while error.cause is not None and error.cls_name in WRAPPERS:
        error = error.cause
    return error.message.strip()


WRAPPERS = frozenset({"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"})


class StepProgress:
    """While a run executes in this process, a thread that reads its event log and reports each
    step as it ends (and, when it takes longer than a poll, as it starts): the time since the run
    started, the assets it materialised, their rows, and how long it took; and each warning the
    run logs (a wait for the warehouse, a file's warnings) as it is logged."""

    EVENTS = frozenset(
        {
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.ASSET_MATERIALIZATION,
        }
    )

    def __init__(self, instance: DagsterInstance, run_id: str, report: Callable[[str], None] | None, interval=1.0):
        self.instance, self.run_id, self.report, self.interval = instance, run_id, report, interval
        self.started = time.time()
        self.cursor: str | None = None
        self.steps: dict[str, dict] = {}  # running steps: start time, rows by asset, announced
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="ops-pipeline-progress", daemon=True)

    def __enter__(self):
        if self.report:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.report:
            self.stop.set()
            self.thread.join()
            self._read()  # what the last interval logged

    def _watch(self) -> None:
        while not self.stop.wait(self.interval):
            self._read()
            for step, state in self.steps.items():
                if not state["announced"]:
                    state["announced"] = True
                    self.report(f"{self._stamp(state['start'])} {step} ...")

    def _read(self) -> None:
        while True:
            try:
                connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor)
            except Exception:  # the run's event log may not exist yet
                return
            for record in connection.records:
                self._event(record.event_log_entry)
            self.cursor = connection.cursor
            if not connection.has_more:
                return

    def _stamp(self, at: float) -> str:
        return f"[{at - self.started:7.1f}s]"

    def _event(self, entry) -> None:
        event = entry.dagster_event
        if event is None:  # a log message: the warnings are shown as they come (a wait, a file's warnings)
            if entry.level >= logging.WARNING:
                self.report(f"{self._stamp(entry.timestamp)} {entry.step_key or 'run'}: {entry.user_message}")
            return
        if event.event_type not in self.EVENTS:
            return
        step = event.step_key or "run"
        if event.event_type == DagsterEventType.STEP_START:
            self.steps[step] = {"start": entry.timestamp, "rows": {}, "announced": False}
            return
        state = self.steps.setdefault(step, {"start": entry.timestamp, "rows": {}, "announced": True})
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            # A range of partitions is one materialisation per day, each with the range's metadata.
            rows = entry.asset_materialization.metadata.get("dagster/row_count")
            state["rows"][event.asset_key] = int(rows.value) if rows is not None else None
            return
        del self.steps[step]
        took = f"{entry.timestamp - state['start']:.1f} s"
        if event.event_type == DagsterEventType.STEP_FAILURE:
            self.report(
                f"{self._stamp(entry.timestamp)} {step} FAILED after {took}: "
                f"{step_failure_reason(event.step_failure_data)}"
            )
            return
        assets = state["rows"]
        counted = [n for n in assets.values() if n is not None]
        built = f"{len(assets)} asset(s)" + (f", {sum(counted):,} rows" if counted else "") + ", " if assets else ""
        self.report(f"{self._stamp(entry.timestamp)} {step}: {built}{took}")


def _collect_alerts(settings: Settings, outcome: RunOutcome, job_name: str) -> None:
    """What the alert sensors would announce about this run, announced now, and the alerts its
    monitoring/evaluations step raised, read back from the outbox."""
    from ops_pipeline.alerts.run_alerts import alerts_of_run
    from ops_pipeline.warehouse import WarehouseBusy

    try:
        outcome.alerts = alerts_of_run(
            settings, outcome.instance, outcome.run_id, job_name, outcome.success, outcome.failures
        )
    except WarehouseBusy:
        outcome.failures.append("alerts: warehouse locked; the announce_failed_checks sensor announces next tick")


@dataclass
class WarehouseSummary:
    rows_by_source: dict[str, tuple[int, int, int]]  # source -> (read, loaded, quarantined)
    quarantine_reasons: list[tuple[str, str, int]]
    tables: list[tuple[str, str, int]]
    headlines: dict[str, object] = field(default_factory=dict)
    # raw.ingestion_warnings: source, file, kind, message
    warnings: list[tuple[str, str, str, str]] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # review/summary.py


HEADLINE_SQL = {
    "kpi": "select date, dau, paid_gmv, pay_rate, visit_to_pay_rate from marts.kpi_daily order by date desc limit 1",
    "best_channel": "select channel, sum(paid_gmv) / nullif(sum(spend), 0) as roas from marts.channel_daily "
    "where date = (select max(date) from marts.kpi_daily) and spend > 0 group by channel "
    "order by roas desc nulls last limit 1",
    "top_kol": "select kol_id, kol_name, score, tier from marts.kol_scorecard order by score desc nulls last limit 1",
}


def _headlines(conn, tables: set[str]) -> dict[str, object]:
    """The last day's headline numbers, from the marts that exist."""
    needed = {"kpi": "kpi_daily", "best_channel": "channel_daily", "top_kol": "kol_scorecard"}
    return {name: conn.execute(sql).fetchone() for name, sql in HEADLINE_SQL.items() if needed[name] in tables}


def summarise_warehouse(path: Path) -> WarehouseSummary:
    with warehouse.connect(path, read_only=True) as conn:
        rows = conn.execute(
            "select source, sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from raw.ingestion_log group by source order by source"
        ).fetchall()
        reasons = conn.execute(
            "select source, kind, count(*) from (select source, "
            "unnest(string_split(reason, '; ')).split(': ')[1] as kind from raw.quarantine) "
            "group by all order by source, count(*) desc"
        ).fetchall()
        names = conn.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name not in ('raw') order by schema_name, table_name"
        ).fetchall()
        tables = [
            (schema, table, conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0])
            for schema, table in names
        ]
        headlines = _headlines(conn, {table for schema, table, _ in tables if schema == "marts"})
        review = review_lines(conn)
        # A warehouse built before the table existed has none until its next ingestion.
        has_warnings = conn.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'ingestion_warnings'"
        ).fetchone()[0]
        warnings = (
            conn.execute(
                "select source, file, kind, message from raw.ingestion_warnings order by landing_date, source, file"
            ).fetchall()
            if has_warnings
            else []
        )
    return WarehouseSummary(
        {s: (int(read), int(loaded), int(quarantined)) for s, read, loaded, quarantined in rows},
        reasons,
        tables,
        headlines,
        warnings,
        review,
    )
