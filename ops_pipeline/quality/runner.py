"""Run suites through Great Expectations on the DuckDB warehouse, for a run window.

Each suite becomes a GE query asset (its batch SQL for the window), an
expectation suite and a validation definition, run by a checkpoint of its own
(the result format names the suite's `where` columns), all through GE's SQL
data source, so the work happens inside DuckDB. The results are written to the
Data Docs page in the docs folder the caller names (Settings.ge_docs_path:
OPS_GE_DOCS_DIR, default <warehouse dir>/ge_docs): docs.py, a static page that
reads offline, in place of GE's own Data Docs, which need CDNs.

One GE context serves the whole process (a pipeline run executes its checks in
one process).
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ops_pipeline.quality import docs, engine
from ops_pipeline.quality.params import RunWindow
from ops_pipeline.quality.results import (
    MAX_EXAMPLES,
    CheckResult,
    ExpectationResult,
    expectation_result,
    failed_to_run,
)
from ops_pipeline.quality.suites import Suite

log = logging.getLogger(__name__)


def landing_days_built(warehouse: str | Path) -> tuple[date, date]:
    """First and last landing day ingested so far (today when nothing has landed)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        first, last = conn.execute("select min(landing_date), max(landing_date) from raw.ingestion_log").fetchone()
    today = date.today()
    return first or today, last or today


@dataclass
class _GE:
    context: Any
    counter: itertools.count


@functools.cache
def _ge() -> _GE:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return _GE(context, itertools.count(1))


def _datasource(ge: _GE, warehouse: Path):
    name = f"warehouse_{abs(hash(str(warehouse))):x}"
    try:
        return ge.context.data_sources.get(name)
    except (KeyError, ValueError, LookupError):
        return ge.context.data_sources.add_sql(
            name=name, connection_string=engine.connection_string(warehouse), kwargs=engine.engine_kwargs()
        )


def run_suites(
    suites: list[Suite], warehouse: str | Path, window: RunWindow, docs_dir: Path | None = None, build_docs: bool = True
) -> list[CheckResult]:
    """Validate every suite for the window; one CheckResult per (asset, check)."""
    import great_expectations as gx

    warehouse = Path(warehouse).resolve()
    ge = _ge()
    datasource = _datasource(ge, warehouse)
    by_check: dict[tuple[str, str], list[ExpectationResult]] = defaultdict(list)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    validated = []
    sql_engine = datasource.get_execution_engine().engine
    try:
        for suite in suites:
            started = time.perf_counter()
            results = _run_suite(gx, ge, datasource, sql_engine, suite, window)
            validated.append((suite, results, datetime.now(UTC)))
            share = (time.perf_counter() - started) / max(1, len(suite.check_keys))
            for key in suite.check_keys:
                seconds[key] += share
            for result in results:
                by_check[(result.asset, result.check)].append(result)
    finally:
        # closes the DuckDB connections (and drops the temporary tables)
        sql_engine.dispose()
        datasource.get_engine().dispose()
    with_docs = build_docs and docs_dir is not None and _write_docs(docs_dir, window, validated)
    checks = []
    for suite in suites:
        for key in suite.check_keys:
            checks.append(
                CheckResult(
                    key[0],
                    key[1],
                    suite.blocking,
                    suite.description,
                    window,
                    by_check[key],
                    round(seconds[key], 3),
                    docs.suite_url(docs_dir, suite.name) if with_docs else None,
                    suite.dates_checked(window),
                )
            )
    return checks


def _run_suite(gx, ge: _GE, datasource, sql_engine, suite: Suite, window: RunWindow):
    params = suite.parameters(window)
    number = next(ge.counter)
    try:
        kwargs_list = [_resolve(e.kwargs, params) for e in suite.expectations]
        # GE's many metric queries read the batch as a temporary table (an
        # aggregate computed once) or a temporary view (rows of one table, scanned in place).
        table = f"{engine.BATCH_TABLE_PREFIX}{number}"
        kind = "table" if suite.materialize else "view"
        with sql_engine.begin() as connection:
            connection.exec_driver_sql(f"create temp {kind} {table} as {suite.render_batch(window)}")
        asset = datasource.add_query_asset(name=f"{suite.name}__{number}", query=engine.batch_query(table))
        batch_definition = asset.add_batch_definition_whole_table("run window")
        gx_suite = ge.context.suites.add_or_update(
            gx.ExpectationSuite(
                name=suite.name,
                expectations=[
                    getattr(gx.expectations, e.class_name)(**kwargs)
                    for e, kwargs in zip(suite.expectations, kwargs_list)
                ],
                meta={
                    "check": suite.check,
                    "asset": suite.asset,
                    "blocking": suite.blocking,
                    "description": suite.description,
                },
            )
        )
        validation = ge.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}__{number}", data=batch_definition, suite=gx_suite)
        )
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
        if suite.where:
            result_format["unexpected_index_column_names"] = list(suite.where)
        checkpoint = ge.context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite.name}__{number}", validation_definitions=[validation], result_format=result_format
            )
        )
        run = checkpoint.run()
    except Exception as error:  # a broken query or table: the check fails and says why
        log.warning("suite %s could not run: %s", suite.name, error)
        return failed_to_run(suite, error)
    (suite_result,) = run.run_results.values()
    raw_by_id = {raw.expectation_config.id: raw for raw in suite_result.results}
    outcomes = [
        expectation_result(suite, expectation, kwargs, raw_by_id[gx_expectation.id], params)
        for expectation, kwargs, gx_expectation in zip(suite.expectations, kwargs_list, gx_suite.expectations)
    ]
    # the definitions served this run only
    ge.context.checkpoints.delete(checkpoint.name)
    ge.context.validation_definitions.delete(validation.name)
    datasource.delete_asset(asset.name)
    return outcomes


def _resolve(kwargs: dict, params: dict) -> dict:
    """Kwargs values '$name' refer to the suite's params and the run's (lookback_days, event_names...)."""
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in params:
                raise KeyError(f"kwarg {key} refers to unknown param {value}")
            value = params[value[1:]]
        resolved[key] = value
    return resolved


def _write_docs(docs_dir: Path, window: RunWindow, validated: list) -> bool:
    """The Data Docs page with these suites' results; False when it could not be written."""
    try:
        for suite, results, checked_at in validated:
            docs.write_suite_results(docs_dir, suite, window, results, checked_at)
        docs.render_index(docs_dir)
    except OSError as error:  # docs are a convenience: never fail a check over them
        log.warning("Data Docs not written: %s", error)
        return False
    return True
