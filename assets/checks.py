"""Data quality: the Great Expectations suites of expectations/ as Dagster asset checks.

One multi-asset check op per layer (raw, staging, marts) runs the suites of
that layer in a single Great Expectations session, so a run pays GE's set-up
three times, not once per check. Each suite reports to the checks it names
(asset + check name); blocking checks stop the assets downstream of theirs in
the run: raw checks gate the dbt models, marts checks gate serving. The checks
read the run's landing days from its partition-range tags, as the dbt assets
do (ops_pipeline.partitions.run_window); a run without them (a full build, or
the checks launched on their own from the UI) checks every landing day built.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from ops_pipeline.partitions import run_window
from ops_pipeline.quality.params import RunWindow
from ops_pipeline.quality.report import check_metadata
from ops_pipeline.quality.suites import Suite, load_suites
from ops_pipeline.resources import OpsSettings

LAYERS = ("raw", "staging", "marts")


def build_quality_checks() -> list[AssetChecksDefinition]:
    """The checks of every suite in expectations/, grouped in one op per layer.

    The checks are not partitioned: a run over a range of days evaluates each
    once, for the whole range.
    """
    suites = load_suites()
    checks = []
    for layer in LAYERS:
        layer_suites = [s for s in suites if s.asset.split("/")[0] == layer]
        if layer_suites:
            checks.append(_layer_checks(layer, layer_suites))
    return checks


def _layer_checks(layer: str, suites: list[Suite]) -> AssetChecksDefinition:
    specs = [
        AssetCheckSpec(
            name=check,
            asset=AssetKey.from_user_string(asset),
            blocking=suite.blocking,
            description=suite.description,
            metadata={"suite": f"expectations/{suite.name.split('.')[0]}.yml"},
        )
        for suite in suites
        for asset, check in suite.check_keys
    ]

    @multi_asset_check(
        name=f"{layer}_quality_checks",
        specs=specs,
        can_subset=True,
        description=f"Great Expectations suites of expectations/ on the {layer} layer.",
    )
    def _checks(
        context: AssetCheckExecutionContext, duckdb: DuckDBResource, ops: OpsSettings
    ) -> Iterator[AssetCheckResult]:
        from ops_pipeline.quality.runner import run_suites

        selected = {(key.asset_key.to_user_string(), key.name) for key in context.selected_asset_check_keys}
        chosen = [s for s in suites if any(key in selected for key in s.check_keys)]
        window = _window(context.run.tags, duckdb.database, ops.timezone)
        results = run_suites(chosen, duckdb.database, window, Path(ops.ge_docs_dir))
        for result in results:
            if (result.asset, result.check) not in selected:
                continue
            log = context.log.error if result.blocking else context.log.warning
            for line in [] if result.passed else result.lines[:20]:
                log(f"{result.asset} {result.check} [{window.label}]: {line}")
            yield AssetCheckResult(
                asset_key=AssetKey.from_user_string(result.asset),
                check_name=result.check,
                passed=result.passed,
                severity=AssetCheckSeverity.ERROR if result.blocking else AssetCheckSeverity.WARN,
                description=result.summary,
                metadata=check_metadata(result),
            )

    return _checks


def _window(run_tags, warehouse: str, timezone: str) -> RunWindow:
    from ops_pipeline.quality.runner import landing_days_built

    tagged = run_window(run_tags)
    if tagged["min_date"] and tagged["max_date"]:
        first_day, last_day = date.fromisoformat(tagged["min_date"]), date.fromisoformat(tagged["max_date"])
    else:
        first_day, last_day = landing_days_built(warehouse)
    return RunWindow(first_day, last_day, timezone=timezone)
