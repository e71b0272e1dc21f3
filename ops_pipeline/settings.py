"""Runtime settings, read from the environment with defaults inside the checkout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# DuckDB takes 80% of the machine's memory by default; every connection of the
# pipeline (ingestion, dbt, checks) is capped instead, and spills to disk beyond.
DUCKDB_MEMORY_LIMIT = os.environ.get("OPS_DUCKDB_MEMORY_LIMIT", "3GB")

# The salt is a secret in production; the default only keeps the demo reproducible.
DEMO_PII_SALT = "ops-pipeline-demo-salt"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    timezone: str
    dagster_home: Path
    partition_start: str
    pii_salt: str
    serving: Path | None = None  # None: serving.duckdb beside the warehouse

    @property
    def serving_path(self) -> Path:
        return self.serving or self.warehouse.parent / "serving.duckdb"

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        return cls(
            landing_dir=Path(env.get("OPS_LANDING_DIR", PROJECT_ROOT / "data" / "landing")).resolve(),
            warehouse=Path(env.get("OPS_WAREHOUSE", PROJECT_ROOT / "data" / "warehouse.duckdb")).resolve(),
            timezone=env.get("OPS_TIMEZONE", "Asia/Shanghai"),
            dagster_home=Path(env.get("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home")).resolve(),
            partition_start=env.get("OPS_PARTITION_START", "2024-01-01"),
            pii_salt=env.get("OPS_PII_SALT", DEMO_PII_SALT),
            serving=Path(env["OPS_SERVING"]).resolve() if env.get("OPS_SERVING") else None,
        )
