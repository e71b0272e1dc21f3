"""`ops-pipeline`: generate sample data, run the pipeline, or both (demo)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from ops_pipeline.settings import Settings

DEMO_DAYS = 90
DEMO_USERS = 6000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="write a seeded sample landing folder")
    gen.add_argument("--out", type=Path, help="landing folder to write (default: OPS_LANDING_DIR)")
    gen.add_argument("--start", type=date.fromisoformat, help="first landing day (default: DAYS before today)")
    gen.add_argument("--days", type=int, default=DEMO_DAYS)
    gen.add_argument("--users", type=int, default=DEMO_USERS)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="NAME[@YYYY-MM-DD]",
        help="inject a named incident (repeatable)",
    )

    run = commands.add_parser("run", help="ingest the landing folder and build everything downstream")
    _add_location_args(run)
    run.add_argument("--start", type=date.fromisoformat, help="first landing day to build")
    run.add_argument("--end", type=date.fromisoformat, help="last landing day to build")
    for sub in (
        run,
        demo := commands.add_parser(
            "demo", help="generate sample data into the landing folder if it is empty, then run"
        ),
    ):
        sub.add_argument("-v", "--verbose", action="store_true", help="show Dagster and dbt logs as they happen")

    _add_location_args(demo)

    commands.add_parser("ui", help="start the Dagster UI (dagster dev) on workspace.yaml")

    evaluation = commands.add_parser(
        "eval-alerts", help="detection quality: inject swings of known size into a built warehouse's clean series"
    )
    _add_location_args(evaluation)
    evaluation.add_argument("--trials", type=int, default=400)
    evaluation.add_argument("--seed", type=int, default=0)

    bench = commands.add_parser("bench", help="measure every stage on generated data (see README)")
    bench.add_argument("--events", type=int, default=10_000_000, help="approximate number of events")
    bench.add_argument("--days", type=int, default=90, help="days of history before the incremental day")
    bench.add_argument("--out", type=Path, help="work folder (default: data/bench); results in bench.json there")

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if getattr(args, "landing", None):
        settings = replace(settings, landing_dir=args.landing.resolve())
    if getattr(args, "warehouse", None):
        settings = replace(settings, warehouse=args.warehouse.resolve())
    # The Dagster UI started by `make ui` reads this instance too.
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)

    if args.command == "ui":
        from ops_pipeline.pipeline import dagster_instance
        from ops_pipeline.settings import PROJECT_ROOT

        dagster_instance(settings)
        # The venv's own tools, even when it is not activated (make calls .venv/bin/ops-pipeline).
        venv_bin = str(Path(sys.executable).parent)
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
        workspace = str(PROJECT_ROOT / "workspace.yaml")
        os.execvp("dagster", ["dagster", "dev", "-w", workspace])
    if args.command == "eval-alerts":
        from ops_pipeline.alerts.backtest import backtest_report, format_report

        report = backtest_report(
            settings.warehouse, settings.landing_dir, args.trials, args.seed, settings.monitors_file
        )
        print(format_report(report))
        return 0 if report["meets_targets"] else 1
    if args.command == "bench":
        return _bench(args.out or settings.warehouse.parent / "bench", args.events, args.days)
    if args.command == "generate":
        out = (args.out or settings.landing_dir).resolve()
        start = args.start or date.today() - timedelta(days=args.days)
        return _generate(out, start, args.days, args.users, args.seed, args.incident)
    if args.command == "demo" and not any(settings.landing_dir.glob("*/*")):
        start = date.today() - timedelta(days=DEMO_DAYS)
        _generate(settings.landing_dir, start, DEMO_DAYS, DEMO_USERS, 7, [])
    return _run(settings, getattr(args, "start", None), getattr(args, "end", None), args.verbose)


def _add_location_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landing", type=Path, help="landing folder (default: OPS_LANDING_DIR or data/landing)")
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (default: OPS_WAREHOUSE or data/warehouse.duckdb)")


def _generate(out: Path, start: date, days: int, users: int, seed: int, incidents: list[str]) -> int:
    from ops_pipeline.generator import generate

    print(f"Generating {days} days from {start} for {users:,} users into {out} ...")
    manifest = generate(out, start, days, users, seed=seed, incidents=incidents, progress=sys.stderr.isatty())
    totals = {source: sum(by_day.values()) for source, by_day in manifest["rows"].items()}
    print("  rows written: " + ", ".join(f"{s} {n:,}" for s, n in totals.items()))
    for incident in manifest.get("incidents", []):
        print(f"  incident {incident['name']}: {incident['start']}..{incident['end']} {incident.get('slice', '')}")
    return 0


def _run(settings: Settings, start: date | None, end: date | None, verbose: bool) -> int:
    from ops_pipeline import report
    from ops_pipeline.pipeline import PipelineError, run

    log_file = None if verbose else settings.warehouse.parent / "logs" / "last_run.log"
    print("Running the pipeline" + (f" (logs: {log_file})" if log_file else "") + " ...", flush=True)
    try:
        outcome = run(settings, start, end, log_file)
    except PipelineError as error:
        print(f"ops-pipeline: {error}", file=sys.stderr)
        return 2
    print(report.run_report(settings, outcome))
    return 0 if outcome.success else 1


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
