"""Dagster resources, configured from Settings; secrets enter as dagster.EnvVar (settings.secret_config)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.dbt_resource import dbt_resource
from ops_pipeline.settings import PII_SALT_VAR, SLACK_TOKEN_VAR, SLACK_WEBHOOK_VAR, Settings, secret_config
from ops_pipeline.warehouse import connect_waiting, writer_lock


class WarehouseResource(DuckDBResource):
    """The warehouse, held by one run at a time: the writer lock is taken when the run's resources
    are set up (once per run, by the in-process executor) and released when it ends."""

    _log: Any = PrivateAttr(default=None)

    @contextlib.contextmanager
    def yield_for_execution(self, context: InitResourceContext):
        log = context.log.info if context.log else None
        self._log = context.log
        with writer_lock(self.database, context.run.run_id if context.run else "?", on_wait=log):
            yield self

    @contextlib.contextmanager
    def get_connection(self):
        """dagster-duckdb's connection, but a process holding the warehouse open is waited for out
        loud (the step's log, and the command line's progress) and, past the wait, named."""
        log = self._log
        conn = connect_waiting(
            self.database,
            {"custom_user_agent": "dagster", **self.connection_config},
            on_wait=log.warning if log else logging.getLogger(__name__).warning,
        )
        try:
            yield conn
        finally:
            conn.close()


class OpsSettings(ConfigurableResource):
    """Where the landing files are, which time zone business days use, where BI reads, how
    personal data is hashed, how much memory dbt's DuckDB may take, where Data Docs go."""

    landing_dir: str
    timezone: str
    serving_path: str
    pii_salt: str
    duckdb_memory_limit: str
    ge_docs_dir: str


class Alerting(ConfigurableResource):
    """What the monitors' evaluation needs: the monitors file, the base of the links in messages,
    and the Slack target (none: alerts stay in the outbox, alerts.jsonl and the run output)."""

    monitors_file: str
    dagster_url: str
    slack_webhook_url: str | None = None
    slack_bot_token: str | None = None
    slack_channel: str | None = None
    slack_api_url: str | None = None

    def slack_target(self) -> SlackTarget | None:
        return SlackTarget.from_values(
            self.slack_webhook_url, self.slack_bot_token, self.slack_channel, self.slack_api_url
        )


def build_resources(settings: Settings) -> dict:
    return {
        "duckdb": WarehouseResource(
            database=str(settings.warehouse), connection_config={"memory_limit": settings.duckdb_memory_limit}
        ),
        "dbt": dbt_resource(),
        "ops": OpsSettings(
            landing_dir=str(settings.landing_dir),
            timezone=settings.timezone,
            serving_path=str(settings.serving_path),
            pii_salt=secret_config(PII_SALT_VAR, settings.pii_salt),
            duckdb_memory_limit=settings.duckdb_memory_limit,
            ge_docs_dir=str(settings.ge_docs_path),
        ),
        "alerting": Alerting(
            monitors_file=str(settings.monitors_file),
            dagster_url=settings.dagster_url,
            slack_webhook_url=secret_config(SLACK_WEBHOOK_VAR, settings.slack_webhook_url),
            slack_bot_token=secret_config(SLACK_TOKEN_VAR, settings.slack_bot_token),
            slack_channel=settings.slack_channel,
            slack_api_url=settings.slack_api_url,
        ),
    }
