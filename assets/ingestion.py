"""Landing -> raw: one daily-partitioned asset per source."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)
from dagster_duckdb import DuckDBResource

from ops_pipeline import landing
from ops_pipeline.contract import SOURCES
from ops_pipeline.ingest import DayResult, ingest_range
from ops_pipeline.partitions import landing_days_of
from ops_pipeline.resources import OpsSettings
from ops_pipeline.warehouse import ensure_raw_schema


def landing_specs() -> list[AssetSpec]:
    """The landing folders, drawn upstream of raw so the graph starts where the files do."""
    return [
        AssetSpec(
            key=AssetKey(["landing", name]),
            description=f"Files dropped in <landing>/{name}/<YYYY-MM-DD>*.csv|jsonl|parquet. {source.description}",
            group_name="landing",
            kinds={"file"},
        )
        for name, source in SOURCES.items()
    ]


def ledger_specs() -> list[AssetSpec]:
    """raw.quarantine and raw.ingestion_log, written by every raw asset as it loads."""
    written_by = [AssetKey(["raw", name]) for name in SOURCES]
    return [
        AssetSpec(
            key=AssetKey(["raw", "quarantine"]),
            description="Rows that broke the source contract: source, file, row_number, a readable reason "
            "and the record as JSON (personal data hashed). Nothing is dropped silently.",
            deps=written_by,
            group_name="raw",
            kinds={"duckdb"},
        ),
        AssetSpec(
            key=AssetKey(["raw", "ingestion_log"]),
            description="One row per ingested file: source, file, landing_date, sha256, rows_read, rows_loaded, "
            "rows_quarantined, ingested_at; rows_read = rows_loaded + rows_quarantined.",
            deps=written_by,
            group_name="raw",
            kinds={"duckdb"},
        ),
    ]


def build_raw_assets(partitions_def: PartitionsDefinition) -> list[AssetsDefinition]:
    return [_raw_asset(name, partitions_def) for name in SOURCES]


def _raw_asset(source: str, partitions_def: PartitionsDefinition) -> AssetsDefinition:
    columns = ", ".join(SOURCES[source].column_names)

    @asset(
        key=AssetKey(["raw", source]),
        deps=[AssetKey(["landing", source])],
        partitions_def=partitions_def,
        # A history of hundreds of days loads in one run, not one run per day.
        backfill_policy=BackfillPolicy.single_run(),
        group_name="raw",
        kinds={"duckdb"},
        description=(
            f"{SOURCES[source].description} Typed and validated contract columns ({columns}) plus "
            "_landing_date, _file, _row_number, _extra (columns beyond the contract, as JSON) and "
            "_ingested_at. Rows breaking the contract go to raw.quarantine with a reason; every file "
            "is recorded in raw.ingestion_log. Re-ingesting a landing day replaces it."
        ),
    )
    def _asset(context: AssetExecutionContext, duckdb: DuckDBResource, ops: OpsSettings) -> MaterializeResult:
        first_day, last_day = landing_days_of(*context.partition_time_window)
        files = landing.scan(ops.landing_dir, source, timezone=ops.timezone).by_source_day().get(source, {})
        with duckdb.get_connection() as conn:
            conn.execute("set TimeZone = 'UTC'")
            ensure_raw_schema(conn)
            days = ingest_range(
                conn,
                source,
                first_day,
                last_day,
                files,
                timezone_name=ops.timezone,
                pii_salt=ops.pii_salt,
                run_id=context.run.run_id,
            )
        # One log message for all files: each message is a row in Dagster's event log, and a
        # backfill of a long history would otherwise write hundreds.
        context.log.info(
            "\n".join(
                f"{f.file}: read {f.rows_read}, loaded {f.rows_loaded}, quarantined {f.rows_quarantined}"
                for day in days
                for f in day.files
            )
            or f"no {source} files in the landing folder for {first_day} .. {last_day}"
        )
        warnings = [warning for day in days for warning in day.warnings]
        if warnings:
            context.log.warning(f"{len(warnings)} warning(s), kept in raw.ingestion_warnings:\n" + "\n".join(warnings))
        failed = [d for d in days if d.error]
        if failed:
            raise Failure(
                description=f"{len(failed)} landing day(s) of {source} could not be loaded: "
                + "; ".join(f"{d.landing_date}: {d.error}" for d in failed),
                metadata={"failed_days": [str(d.landing_date) for d in failed]},
            )
        return MaterializeResult(metadata=_summary(days))

    return _asset


def _summary(days: list[DayResult]) -> dict:
    files = [f for d in days for f in d.files]
    rows = "\n".join(
        f"| {f.landing_date} | {f.file.rsplit('/', 1)[-1]} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} |"
        for f in files[-30:]
    )
    return {
        "landing_days": len(days),
        "files": len(files),
        "rows_read": sum(d.rows_read for d in days),
        "rows_loaded": sum(d.rows_loaded for d in days),
        "rows_quarantined": sum(d.rows_quarantined for d in days),
        "dagster/row_count": sum(d.rows_loaded for d in days),
        "warnings": sum(len(d.warnings) for d in days),
        "last_files": MetadataValue.md(
            "| landing day | file | read | loaded | quarantined |\n|---|---|---|---|---|\n" + rows
        ),
    }
