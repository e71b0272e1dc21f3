"""`ops-pipeline`: generate sample data, run the pipeline, or both (demo)."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from dataclasses import replace
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ops_pipeline.settings import Settings
from ops_pipeline.ui import DEFAULT_HOST as DEFAULT_UI_HOST
from ops_pipeline.ui import DEFAULT_PORT as DEFAULT_UI_PORT

DEMO_DAYS = 90
DEMO_USERS = 6000


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every option's help says what happens when it is not given."""
    parser = argparse.ArgumentParser(prog="ops-pipeline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a seeded sample landing folder")
    gen.add_argument("--out", type=Path, help="landing folder to write (default: OPS_LANDING_DIR or data/landing)")
    gen.add_argument(
        "--start",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="first landing day (default: DAYS days before today)",
    )
    gen.add_argument("--days", type=int, default=DEMO_DAYS, help="number of landing days (default: %(default)s)")
    gen.add_argument("--users", type=int, default=DEMO_USERS, help="number of users (default: %(default)s)")
    gen.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    gen.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="NAME[@YYYY-MM-DD]",
        help="inject a named incident, repeatable (default: none)",
    )
    gen.add_argument(
        "--no-plan",
        action="store_true",
        help="leave out the planning sources (campaigns, targets, experiments) and their effects "
        "(default: off, they are written)",
    )

    run = commands.add_parser("run", help="ingest the landing folder and build everything downstream")
    _add_location_args(run)
    run.add_argument(
        "--start",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="first landing day to build (default: the first landing day found)",
    )
    run.add_argument(
        "--end",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="last landing day to build (default: the last landing day found)",
    )
    run.add_argument(
        "--all",
        action="store_true",
        help="rebuild every landing day (default: with neither --start nor --end, only the days new or changed since "
        "the last successful run)",
    )
    run.add_argument(
        "--no-wait",
        action="store_true",
        help="refuse if another run is writing the same warehouse (default: wait for it to finish)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines (default: a line per step)")
    demo = commands.add_parser("demo", help="generate sample data into the landing folder if it is empty, then run")
    _add_location_args(demo)
    for sub in (run, demo):
        sub.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="show Dagster and dbt logs as they happen (default: into logs/last_run.log beside the warehouse)",
        )

    report = commands.add_parser(
        "report", help="build a week's operations report (运营数据周报, HTML and PDF) and announce it once"
    )
    report.add_argument(
        "--week",
        metavar="YYYY-Www",
        help="ISO week, e.g. 2026-W47 (default: the last complete week of the warehouse)",
    )
    report.add_argument("--warehouse", type=Path, help="DuckDB file (default: OPS_WAREHOUSE or data/warehouse.duckdb)")

    ui = commands.add_parser("ui", help="start the Dagster UI (dagster dev) on workspace.yaml")
    ui.add_argument("--host", default=DEFAULT_UI_HOST, help="address the UI listens on (default: %(default)s)")
    ui.add_argument("--port", type=int, default=DEFAULT_UI_PORT, help="port of the UI (default: %(default)s)")

    evaluation = commands.add_parser(
        "eval-alerts", help="detection quality: inject swings of known size into a built warehouse's clean series"
    )
    _add_location_args(evaluation)
    evaluation.add_argument("--trials", type=int, default=400, help="swings to inject (default: %(default)s)")
    evaluation.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")

    explain = commands.add_parser(
        "explain", help="the dimension-value combinations that explain a change, as a JSON array"
    )
    explain.add_argument(
        "--leaves",
        type=Path,
        required=True,
        metavar="FILE.csv",
        help="leaf slices: a column per dimension plus real and predict (default: none, it is required)",
    )

    bench = commands.add_parser("bench", help="measure every stage on generated data (see README)")
    bench.add_argument(
        "--events", type=int, default=10_000_000, help="approximate number of events (default: %(default)s)"
    )
    bench.add_argument(
        "--days", type=int, default=90, help="days of history before the incremental day (default: %(default)s)"
    )
    bench.add_argument(
        "--out", type=Path, help="work folder, results in bench.json there (default: bench beside the warehouse)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "explain":
        return _explain(args.leaves)
    settings = Settings.from_env()
    if getattr(args, "landing", None):
        settings = replace(settings, landing_dir=args.landing.resolve())
    if getattr(args, "warehouse", None):
        settings = replace(settings, warehouse=args.warehouse.resolve())
    # The Dagster UI started by `make ui` reads this instance too.
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)

    if args.command == "ui":
        from ops_pipeline.ui import serve

        return serve(settings, args.host, args.port)
    if args.command == "eval-alerts":
        from ops_pipeline.alerts.backtest import backtest_report, format_report

        report = backtest_report(
            settings.warehouse, settings.landing_dir, args.trials, args.seed, settings.monitors_file
        )
        print(format_report(report))
        return 0 if report["meets_targets"] else 1
    if args.command == "report":
        return _report(settings, args.week)
    if args.command == "bench":
        return _bench(args.out or settings.warehouse.parent / "bench", args.events, args.days)
    if args.command == "generate":
        out = (args.out or settings.landing_dir).resolve()
        start = args.start or date.today() - timedelta(days=args.days)
        return _generate(out, start, args.days, args.users, args.seed, args.incident, not args.no_plan)
    if args.command == "demo":
        if not any(settings.landing_dir.glob("*/*")):
            start = date.today() - timedelta(days=DEMO_DAYS)
            _generate(settings.landing_dir, start, DEMO_DAYS, DEMO_USERS, 7, [], plan=True)
        return _run(settings, None, None, args.verbose)
    return _run(
        settings, args.start, args.end, args.verbose, everything=args.all, wait=not args.no_wait, quiet=args.quiet
    )


def _version() -> str:
    try:
        return version("ops-pipeline")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _add_location_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landing", type=Path, help="landing folder (default: OPS_LANDING_DIR or data/landing)")
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (default: OPS_WAREHOUSE or data/warehouse.duckdb)")


def _generate(out: Path, start: date, days: int, users: int, seed: int, incidents: list[str], plan: bool = True) -> int:
    from ops_pipeline.generator import generate

    print(f"Generating {days} days from {start} for {users:,} users into {out} ...")
    manifest = generate(
        out, start, days, users, seed=seed, incidents=incidents, progress=sys.stderr.isatty(), plan=plan
    )
    totals = {source: sum(by_day.values()) for source, by_day in manifest["rows"].items()}
    print("  rows written: " + ", ".join(f"{s} {n:,}" for s, n in totals.items()))
    for incident in manifest.get("incidents", []):
        print(f"  incident {incident['name']}: {incident['start']}..{incident['end']} {incident.get('slice', '')}")
    return 0


def _run(
    settings: Settings,
    start: date | None,
    end: date | None,
    verbose: bool,
    *,
    everything: bool = False,
    wait: bool = True,
    quiet: bool = False,
) -> int:
    from ops_pipeline import report
    from ops_pipeline.pipeline import NothingToBuild, PipelineError, run

    log_file = None if verbose else settings.warehouse.parent / "logs" / "last_run.log"
    print("Running the pipeline" + (f" (logs: {log_file})" if log_file else "") + " ...", flush=True)
    try:
        outcome = run(
            settings,
            start,
            end,
            log_file,
            everything=everything,
            wait=wait,
            # The terminal as it is now: while the run works, its logs go to the log file.
            progress=None if quiet else functools.partial(print, file=sys.stdout, flush=True),
        )
    except NothingToBuild as nothing:
        print(nothing)
        return 0
    except PipelineError as error:
        print(f"ops-pipeline: {error}", file=sys.stderr)
        return 2
    print(report.run_report(settings, outcome))
    return 0 if outcome.success else 1


def _report(settings: Settings, week_text: str | None) -> int:
    from ops_pipeline.weekly.build import latest_week
    from ops_pipeline.weekly.deliver import publish_week
    from ops_pipeline.weekly.weeks import Week, WeekError

    try:
        week = Week.parse(week_text) if week_text else latest_week(settings)
        report, announcement = publish_week(settings, week)
    except WeekError as error:
        print(f"ops-pipeline: {error}", file=sys.stderr)
        return 2
    print(f"Weekly report {week} ({week.start} .. {week.end}), built in {report.seconds:.1f} s:")
    print(f"  HTML: {report.html}")
    print(f"  PDF:  {report.pdf}")
    for line in report.highlights:
        print(f"  {line}")
    said = "announced now" if announcement.new else "announced before, not again"
    print(f"Announcement: {said} (outbox status {announcement.status})")
    return 0


def _explain(leaves_file: Path) -> int:
    import json

    from ops_pipeline.alerts.leaves_csv import LeavesError, read_leaves
    from ops_pipeline.alerts.rootcause import find_root_causes

    try:
        leaves = read_leaves(leaves_file)
    except LeavesError as error:
        print(f"ops-pipeline explain: {error}", file=sys.stderr)
        return 2
    print(json.dumps([dict(cause.element) for cause in find_root_causes(leaves)], ensure_ascii=False))
    return 0


def _bench(out: Path, events: int, days: int) -> int:
    import json

    from ops_pipeline.bench import run_bench

    report = run_bench(out.resolve(), events, days)
    (out / "bench.json").write_text(json.dumps(report.as_dict(), indent=2, default=str))
    print(report.table())
    print(f"results: {out / 'bench.json'}")
    return 0


def console() -> None:
    """The `ops-pipeline` command: main(), then the end of the process without the
    interpreter's teardown. By then everything is written and closed. The teardown
    would end every run with some forty lines of "nanobind: leaked ..." from duckdb
    2.0's bindings, an artefact of the order in which the interpreter frees modules
    once Great Expectations is loaded beside duckdb-engine: nothing leaks."""
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    console()
