"""Run the pipeline job over the landing days found, and summarise what it did.

The CLI calls these functions; they launch the same job of the same
Definitions that the UI shows, on the same Dagster instance, so a command-line
run appears in the UI with its logs.
"""

from __future__ import annotations

from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from ops_pipeline import landing, warehouse
from ops_pipeline.partitions import range_tags
from ops_pipeline.quality.report import failed_check_lines_from_events
from ops_pipeline.settings import Settings

DAGSTER_YAML = """\
# Instance used by both `make ui` and `ops-pipeline run`.
telemetry:
  enabled: false
"""


class PipelineError(Exception):
    """A run that cannot start or did not succeed; the message says why."""


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


@contextmanager
def _console_to(log_file: Path | None):
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w", encoding="utf-8") as sink, redirect_stdout(sink), redirect_stderr(sink):
        yield


def dagster_instance(settings: Settings) -> DagsterInstance:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return DagsterInstance.from_config(str(home))


def landing_range(settings: Settings, start: date | None, end: date | None) -> tuple[date, date]:
    """The first and last landing day to build: the files found, clipped to [start, end]."""
    days = [d for d in landing.scan(settings.landing_dir).days() if (not start or d >= start) and (not end or d <= end)]
    if not days:
        where = f" between {start or '...'} and {end or '...'}" if start or end else ""
        raise PipelineError(f"no landing files{where} in {settings.landing_dir}")
    if days[0] < date.fromisoformat(settings.partition_start):
        raise PipelineError(
            f"landing day {days[0]} is before the first partition {settings.partition_start}; "
            "set OPS_PARTITION_START earlier"
        )
    return start or days[0], end or days[-1]


def run(
    settings: Settings, start: date | None = None, end: date | None = None, log_file: Path | None = None
) -> RunOutcome:
    """Materialise every partition in the range, then everything downstream, in one run.

    With log_file, the run's console output (Dagster and dbt logs) goes there
    instead of the terminal; the same logs are kept by the Dagster instance.
    """
    from ops_pipeline.definitions import PIPELINE_JOB, build_definitions

    first_day, last_day = landing_range(settings, start, end)
    job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
    instance = dagster_instance(settings)
    with _console_to(log_file):
        result = job.execute_in_process(
            instance=instance,
            tags=range_tags(first_day, last_day),
            raise_on_error=False,
        )
    outcome = RunOutcome(
        result.run_id,
        first_day,
        last_day,
        result.success,
        log_file=log_file,
        check_lines=failed_check_lines_from_events(result.all_events),
    )
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            user_message = event.step_failure_data.user_failure_data
            reason = (
                user_message.description
                if user_message and user_message.description
                else (error.message.strip() if error else "unknown error")
            )
            outcome.failures.append(f"{event.step_key}: {reason}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.to_user_string()
            if key not in outcome.materialized:
                outcome.materialized.append(key)
    if not outcome.success and not outcome.failures:
        outcome.failures.append("the run failed; see its logs in the Dagster UI")
    _collect_alerts(settings, instance, outcome, PIPELINE_JOB)
    return outcome


def _collect_alerts(settings: Settings, instance: DagsterInstance, outcome: RunOutcome, job_name: str) -> None:
    """What the alert sensors would announce about this run, announced now, and the alerts its
    monitoring/evaluations step raised, read back from the outbox."""
    from ops_pipeline.alerts.run_alerts import alerts_of_run
    from ops_pipeline.warehouse import WarehouseBusy

    try:
        outcome.alerts = alerts_of_run(settings, instance, outcome.run_id, job_name, outcome.success, outcome.failures)
    except WarehouseBusy:
        outcome.failures.append("alerts: warehouse locked; the announce_failed_checks sensor announces next tick")


@dataclass
class WarehouseSummary:
    rows_by_source: dict[str, tuple[int, int, int]]  # source -> (read, loaded, quarantined)
    quarantine_reasons: list[tuple[str, str, int]]
    tables: list[tuple[str, str, int]]
    headlines: dict[str, object] = field(default_factory=dict)


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
    return WarehouseSummary(
        {s: (int(read), int(loaded), int(quarantined)) for s, read, loaded, quarantined in rows},
        reasons,
        tables,
        headlines,
    )
