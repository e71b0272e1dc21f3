"""All configuration, in one place: the environment (read once, by Settings.from_env) and dbt's vars.

The environment variables and their defaults are the README's configuration
table. Everything else receives a Settings (or the values it needs from one);
Dagster resources are configured from it in resources.py, with dagster.EnvVar
for the secrets so that they never appear in run config or the UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# The salt is a secret in production; the default only keeps the demo reproducible.
DEMO_PII_SALT = "ops-pipeline-demo-salt"
# DuckDB takes 80% of the machine's memory by default; every connection of the
# pipeline (ingestion, dbt, checks) is capped instead, and spills to disk beyond.
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
DEFAULT_MONITORS_FILE = PROJECT_ROOT / "monitors.yml"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_LANDING_SETTLE_SECONDS = 30.0
DEFAULT_SCHEDULE_CRON = "0 7 * * *"

# The environment variables that hold secrets.
PII_SALT_VAR = "OPS_PII_SALT"
SLACK_WEBHOOK_VAR = "SLACK_WEBHOOK_URL"
SLACK_TOKEN_VAR = "SLACK_BOT_TOKEN"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    timezone: str = "Asia/Shanghai"
    instance_dir: Path | None = None  # DAGSTER_HOME; None: <warehouse>.dagster beside the warehouse
    partition_start: str | None = None  # None: the earliest landing day found (partitions.py)
    pii_salt: str = field(default=DEMO_PII_SALT, repr=False)
    serving: Path | None = None  # None: serving.duckdb beside the warehouse
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    ge_docs_dir: Path | None = None  # None: ge_docs beside the warehouse
    dagster_url: str = DEFAULT_DAGSTER_URL  # base of the links in alert messages
    monitors_file: Path = DEFAULT_MONITORS_FILE
    # Slack: a webhook, or a bot token with a channel; neither keeps alerts local.
    slack_webhook_url: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # The landing sensor leaves files alone until they have not changed for this long (still arriving).
    landing_settle_seconds: float = DEFAULT_LANDING_SETTLE_SECONDS
    schedule_cron: str = DEFAULT_SCHEDULE_CRON  # the daily schedule (off by default)
    schedule_timezone: str | None = None  # None: the reporting time zone
    reports_dir: Path | None = None  # None: reports beside the warehouse (weekly reports in its weekly/)
    # The Spark warehouse of `dbt --target spark` (ops_pipeline/spark.py); None: spark-warehouse/ beside the warehouse
    spark_warehouse: Path | None = None

    @property
    def dagster_home(self) -> Path:
        """The warehouse's own Dagster instance: runs, asset history and check results of one warehouse."""
        return self.instance_dir or self.warehouse.with_name(self.warehouse.name.removesuffix(".duckdb") + ".dagster")

    @property
    def spark_warehouse_path(self) -> Path:
        """The Spark warehouse (Parquet tables in Spark's layout) of the dbt target spark."""
        return self.spark_warehouse or self.warehouse.parent / "spark-warehouse"

    @property
    def serving_path(self) -> Path:
        return self.serving or self.warehouse.parent / "serving.duckdb"

    @property
    def reports_path(self) -> Path:
        return self.reports_dir or self.warehouse.parent / "reports"

    @property
    def ge_docs_path(self) -> Path:
        return self.ge_docs_dir or self.warehouse.parent / "ge_docs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def path(name: str, default: Path) -> Path:
            return Path(env.get(name) or default).resolve()

        return cls(
            landing_dir=path("OPS_LANDING_DIR", PROJECT_ROOT / "data" / "landing"),
            warehouse=path("OPS_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb"),
            timezone=env.get("OPS_TIMEZONE", "Asia/Shanghai"),
            instance_dir=Path(env["DAGSTER_HOME"]).resolve() if env.get("DAGSTER_HOME") else None,
            partition_start=env.get("OPS_PARTITION_START") or None,
            pii_salt=env.get(PII_SALT_VAR, DEMO_PII_SALT),
            serving=Path(env["OPS_SERVING"]).resolve() if env.get("OPS_SERVING") else None,
            duckdb_memory_limit=env.get("OPS_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
            ge_docs_dir=Path(env["OPS_GE_DOCS_DIR"]) if env.get("OPS_GE_DOCS_DIR") else None,
            dagster_url=(env.get("OPS_DAGSTER_URL") or DEFAULT_DAGSTER_URL).rstrip("/"),
            monitors_file=Path(env.get("OPS_MONITORS") or DEFAULT_MONITORS_FILE),
            slack_webhook_url=env.get(SLACK_WEBHOOK_VAR) or None,
            slack_bot_token=env.get(SLACK_TOKEN_VAR) or None,
            slack_channel=env.get("SLACK_CHANNEL") or None,
            slack_api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            landing_settle_seconds=float(env.get("OPS_LANDING_SETTLE_SECONDS") or DEFAULT_LANDING_SETTLE_SECONDS),
            schedule_cron=env.get("OPS_SCHEDULE") or DEFAULT_SCHEDULE_CRON,
            schedule_timezone=env.get("OPS_SCHEDULE_TIMEZONE") or None,
            reports_dir=Path(env["OPS_REPORTS_DIR"]).resolve() if env.get("OPS_REPORTS_DIR") else None,
            spark_warehouse=Path(env["OPS_SPARK_WAREHOUSE"]).resolve() if env.get("OPS_SPARK_WAREHOUSE") else None,
        )


def secret_config(name: str, value: str | None):
    """A secret as a Dagster resource receives it: EnvVar(name) when the environment holds this
    value (resolved in the run's process, never shown in run config or the UI), the value itself
    when it came from elsewhere (the demo salt, a test's Settings)."""
    from dagster import EnvVar  # here: the generator and the CLI's help need no Dagster

    if value is not None and os.environ.get(name) == value:
        return EnvVar(name)
    return value


# Read once per process, for the DuckDB connections opened outside Dagster resources
# (warehouse.connect, the Great Expectations engine).
DUCKDB_MEMORY_LIMIT = Settings.from_env().duckdb_memory_limit


@lru_cache(maxsize=1)
def dbt_vars() -> dict:
    """The vars of dbt_project.yml (each documented there): the one place they are parsed."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def lookback_days() -> int:
    """dbt's incremental lookback: a run over landing days [first, last] also rebuilds the
    `lookback_days` business dates before first."""
    return int(dbt_vars()["lookback_days"])
