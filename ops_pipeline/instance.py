"""The Dagster instance of a warehouse: its configuration, and how it knows that a run died.

One instance per warehouse (settings.dagster_home, beside the warehouse by
default), shared by `make ui` and `ops-pipeline run`, configured so that

* runs that write one warehouse are queued one at a time (the tag WAREHOUSE_TAG,
  which every pipeline run carries, limited to one run in progress per value);
* run monitoring asks RunLauncher.check_run_worker_health about every started
  run on each daemon cycle. Dagster's own launcher cannot tell (it answers for
  Kubernetes, ECS or Docker workers only), so this one looks at the process
  that executes the run: the run worker a code server started, or the
  `ops-pipeline run` process. A run whose process is gone (kill -9, a machine
  restart) is marked failed, and announce_run_failures announces it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

from ops_pipeline.settings import Settings

WAREHOUSE_TAG = "ops_pipeline/warehouse"
PID_TAG = "ops_pipeline/pid"  # the process executing a command-line run
HOST_TAG = "ops_pipeline/host"
PROCESS_START_TAG = "ops_pipeline/process_start"  # tells a reused pid from the run's process

GENERATED = "# Written by ops-pipeline; rewritten when it changes. Point DAGSTER_HOME elsewhere to configure your own."
DAGSTER_YAML = f"""\
{GENERATED}
telemetry:
  enabled: false
concurrency:
  runs:
    # DuckDB has one writer: one run in progress per warehouse, the others wait in the queue.
    tag_concurrency_limits:
      - key: {WAREHOUSE_TAG}
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_monitoring:
  enabled: true
  poll_interval_seconds: 15
  start_timeout_seconds: 180
  max_resume_run_attempts: 0
run_launcher:
  module: ops_pipeline.instance
  class: OpsRunLauncher
"""


def dagster_instance(settings: Settings) -> DagsterInstance:
    """The warehouse's instance, its dagster.yaml written (or brought up to date) first."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (config.read_text().startswith(GENERATED) and config.read_text() != DAGSTER_YAML):
        config.write_text(DAGSTER_YAML)
    return DagsterInstance.from_config(str(home))


def process_tags() -> dict[str, str]:
    """Tags naming this process, for a run it executes itself (execute_in_process)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), PROCESS_START_TAG: _start_time(os.getpid())}


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' when unknown): a pid is reused, this is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if fields[0] != "Z" else ""  # a zombie has finished


def _alive(pid: int, start_time: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _start_time(pid)
    return bool(now) and (not start_time or now == start_time)


def worker_status(instance: DagsterInstance, run: DagsterRun) -> WorkerStatus:
    """RUNNING or FAILED when the run's process is on this machine and known; UNKNOWN otherwise."""
    tags = run.tags
    if tags.get(PID_TAG):
        if tags.get(HOST_TAG) != socket.gethostname():
            return WorkerStatus.UNKNOWN
        return WorkerStatus.RUNNING if _alive(int(tags[PID_TAG]), tags.get(PROCESS_START_TAG)) else WorkerStatus.FAILED
    # A run launched through a code server: its worker reported its pid in an engine event.
    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
        metadata = entry.dagster_event.engine_event_data.metadata if entry.dagster_event else {}
        if "pid" in metadata and entry.message.startswith("Started process for run"):
            return WorkerStatus.RUNNING if _alive(int(metadata["pid"].value), None) else WorkerStatus.FAILED
    return WorkerStatus.UNKNOWN


class OpsRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher, with a health check of the run's process for run monitoring."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        status = worker_status(self._instance, run)
        # UNKNOWN would be taken for a dead worker: a process this machine cannot see is assumed alive.
        if status == WorkerStatus.UNKNOWN:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run's process is not on this machine")
        return CheckRunHealthResult(status, "" if status == WorkerStatus.RUNNING else "the run's process is gone")


def fail_dead_runs(instance: DagsterInstance, warehouse: Path) -> list[str]:
    """Mark failed the started runs of this warehouse whose process is gone (what run monitoring
    does on a daemon cycle, for the command line without a daemon); their ids."""
    runs = instance.get_runs(
        RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={WAREHOUSE_TAG: str(warehouse)}), limit=50
    )
    dead = [run for run in runs if worker_status(instance, run) == WorkerStatus.FAILED]
    for run in dead:
        instance.report_run_failed(run, "the run's process is gone (killed, or the machine restarted)")
    return [run.run_id for run in dead]
