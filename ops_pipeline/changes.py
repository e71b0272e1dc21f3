"""What the landing folder holds that no finished run has built yet.

`ops-pipeline run` (without --start/--end/--all), the landing sensor and the
daily schedule all build these days. A landing day needs building when one of
its files is new, or differs from the file raw.ingestion_log recorded (size,
then sha256 when the file was touched after it was loaded), or when the run
that loaded it did not succeed (it failed after ingesting, or it is not in
this warehouse's Dagster instance). Files removed from the landing folder are
not a change: a folder pruned of old deliveries keeps its history in the
warehouse (`--all` or --start/--end rebuild from what is there).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from ops_pipeline import landing
from ops_pipeline.landing import LandingFile
from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import open_warehouse

CHUNK = 1 << 20


@dataclass(frozen=True)
class Recorded:
    sha256: str
    bytes: int
    ingested_at: float  # epoch seconds
    run_id: str | None


@dataclass
class Changes:
    days: list[date] = field(default_factory=list)  # landing days to build, sorted
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, sha256) of every file of those days
    unsettled: list[Path] = field(default_factory=list)  # changed in the last settle seconds: still arriving
    incomplete: dict[date, list[str]] = field(default_factory=dict)  # days left for the sources still missing
    refusal: str | None = None  # the landing folder holds files it must not read (LandingScan.refusal): build nothing

    @property
    def fingerprint(self) -> str:
        """The same files give the same fingerprint: the landing sensor's run key."""
        return hashlib.sha256("\n".join(f"{p}:{s}" for p, s in sorted(self.files)).encode()).hexdigest()[:32]

    def describe(self) -> str:
        if not self.days:
            waiting = "; ".join(f"{d} waits for {', '.join(s)}" for d, s in sorted(self.incomplete.items()))
            return "no landing day is new or changed" + (f" and complete ({waiting})" if waiting else "")
        span = f"{self.days[0]}" if len(self.days) == 1 else f"{self.days[0]} .. {self.days[-1]}"
        return f"{len(self.days)} landing day(s) new or changed ({span}), {len(self.files)} file(s)"


def recorded_files(warehouse: Path) -> dict[str, Recorded]:
    """raw.ingestion_log by file path (empty for a warehouse not built yet). Raises WarehouseBusy."""
    if not warehouse.exists():
        return {}
    with open_warehouse(warehouse, read_only=True, wait_seconds=5.0) as conn:
        columns = {
            name
            for (name,) in conn.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' and table_name = 'ingestion_log'"
            ).fetchall()
        }
        if not columns:
            return {}
        run_id = "run_id" if "run_id" in columns else "null"
        rows = conn.execute(
            f"select file, sha256, bytes, epoch(ingested_at), {run_id} from raw.ingestion_log"
        ).fetchall()
    return {file: Recorded(sha, int(size), float(at), run) for file, sha, size, at, run in rows}


def succeeded(instance: DagsterInstance, run_ids: set[str]) -> set[str]:
    """The runs among run_ids that finished successfully."""
    found: set[str] = set()
    ids = sorted(run_ids)
    for start in range(0, len(ids), 500):
        runs = instance.get_runs(RunsFilter(run_ids=ids[start : start + 500], statuses=[DagsterRunStatus.SUCCESS]))
        found.update(run.run_id for run in runs)
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def landing_changes(
    settings: Settings, instance: DagsterInstance, settle_seconds: float = 0.0, complete_only: bool = False
) -> Changes:
    """The landing days to build. Files modified less than settle_seconds ago are left for later
    (listed in `unsettled`). With complete_only, so is a day that lacks the file of a source in
    use (one that has landed files before): its run would stop at the ingestion_complete check,
    and the source's deadline alert says that it is late. Raises WarehouseBusy."""
    recorded = recorded_files(settings.warehouse)
    finished = succeeded(instance, {r.run_id for r in recorded.values() if r.run_id})
    now = time.time()
    changes = Changes()
    scan = landing.scan(settings.landing_dir, timezone=settings.timezone)
    changes.refusal = scan.refusal()
    stats = {f.path: f.path.stat() for f in scan.files}
    shas: dict[Path, str] = {}

    def sha(f: LandingFile) -> str:
        """The file's sha256: the recorded one while size and mtime say it is the file loaded."""
        if f.path not in shas:
            known, stat = recorded.get(str(f.path)), stats[f.path]
            same = known and known.bytes == stat.st_size and stat.st_mtime <= known.ingested_at
            shas[f.path] = known.sha256 if same else sha256_of(f.path)
        return shas[f.path]

    by_source = scan.by_source_day()
    for source_days in by_source.values():
        for day, files in source_days.items():
            unsettled = [f.path for f in files if now - stats[f.path].st_mtime < settle_seconds]
            if unsettled:
                changes.unsettled += unsettled
                continue
            if all(_unchanged(f, stats[f.path], sha, recorded, finished) for f in files):
                continue
            if day not in changes.days:
                changes.days.append(day)
    changes.days.sort()
    if complete_only:
        for day in changes.days:
            missing = [source for source, days in by_source.items() if day not in days and min(days) < day]
            if missing:
                changes.incomplete[day] = missing
        changes.days = [d for d in changes.days if d not in changes.incomplete]
    # The fingerprint covers every file of the days to build, of every source.
    wanted = set(changes.days)
    changes.files = [(str(f.path), sha(f)) for f in scan.files if f.landing_date in wanted]
    return changes


def _unchanged(f: LandingFile, stat, sha, recorded: dict[str, Recorded], finished: set[str]) -> bool:
    known = recorded.get(str(f.path))
    if known is None or known.run_id not in finished or known.bytes != stat.st_size:
        return False
    # Touched since it was loaded: the content decides.
    return sha(f) == known.sha256
