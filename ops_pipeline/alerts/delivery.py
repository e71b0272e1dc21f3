"""Deliver the outbox to Slack through the official SDK (docs/alerting.md, Delivery).

SLACK_WEBHOOK_URL selects an incoming webhook (slack_sdk.webhook.WebhookClient);
otherwise SLACK_BOT_TOKEN with SLACK_CHANNEL selects chat.postMessage
(slack_sdk.WebClient; SLACK_API_URL overrides its base URL). Neither: Slack
is off and alerts stay local (outbox table, alerts.jsonl, run log).

A send that is rate limited (429) is retried after its Retry-After while that
is short; a longer Retry-After, a timeout, a connection error or a 5xx leaves
the alert pending with attempts + 1 and is retried on the next sensor tick.
Rows are claimed (status `sending`) before the send, so two deliverers never
send the same alert; a claim older than CLAIM_TIMEOUT is taken back (only a
crash between Slack accepting and the status update can repeat a message).
Secrets come from the environment only (through Settings) and are redacted from every error
string and log record this module produces.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.outbox import FAILED, LOCAL, PENDING, SENDING, SENT, Alert
from ops_pipeline.settings import DEFAULT_SLACK_API_URL, Settings
from ops_pipeline.warehouse import open_warehouse

TIMEOUT_SECONDS = 10
# Retry-After up to this many seconds is waited for in the same tick; longer ones wait for a later tick.
MAX_INLINE_WAIT = 30
RATE_LIMIT_RETRIES = 2
MAX_ATTEMPTS = 20
CLAIM_TIMEOUT = timedelta(minutes=15)
SECRET_PATTERNS = (
    re.compile(r"xox[a-zA-Z]-[A-Za-z0-9-]+"),
    re.compile(r"hooks\.slack\.com/[A-Za-z0-9/_-]+"),
)
REDACTED = "[redacted]"

log = logging.getLogger("ops_pipeline.alerts")


@dataclass(frozen=True)
class SlackTarget:
    webhook_url: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    channel: str | None = None
    api_url: str = DEFAULT_SLACK_API_URL
    timeout: int = TIMEOUT_SECONDS

    @classmethod
    def from_values(
        cls, webhook_url: str | None, bot_token: str | None, channel: str | None, api_url: str | None = None
    ) -> SlackTarget | None:
        """A webhook wins over a bot token; a token needs a channel; neither: Slack is off (None)."""
        api_url = api_url or DEFAULT_SLACK_API_URL
        if webhook_url:
            return cls(webhook_url=webhook_url, api_url=api_url)
        if bot_token and channel:
            return cls(bot_token=bot_token, channel=channel, api_url=api_url)
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackTarget | None:
        return cls.from_values(
            settings.slack_webhook_url, settings.slack_bot_token, settings.slack_channel, settings.slack_api_url
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackTarget | None:
        """The target the environment names (SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN with SLACK_CHANNEL)."""
        return cls.from_settings(Settings.from_env(env))

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook_url else f"chat.postMessage to {self.channel}"

    def secrets(self) -> list[str]:
        return [s for s in (self.webhook_url, self.bot_token) if s]

    def __repr__(self) -> str:
        return f"SlackTarget({self.kind})"


def redact(text: object, secrets: list[str] | tuple[str, ...] = ()) -> str:
    text = str(text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class _RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), ()
        return True


def _sdk_logger(target: SlackTarget) -> logging.Logger:
    sdk_log = logging.getLogger("ops_pipeline.alerts.slack_sdk")
    for old in list(sdk_log.filters):
        sdk_log.removeFilter(old)
    sdk_log.addFilter(_RedactingFilter(target.secrets()))
    return sdk_log


class _ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """The SDK's 429 handler (sleeps for Retry-After), but only when Retry-After is short."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return super()._can_retry(state=state, request=request, response=response, error=error) and (
            (_retry_after(response.headers) or 0) <= MAX_INLINE_WAIT
        )


def _retry_after(headers: Mapping | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) else value
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retry: bool = False  # try again on a later tick
    retry_after: float | None = None
    error: str | None = None


def send(target: SlackTarget, alert: Alert) -> SendResult:
    """One alert to Slack; never raises, never returns a secret."""
    retry_handlers = [ConnectionErrorRetryHandler(), _ShortRateLimitRetry(max_retry_count=RATE_LIMIT_RETRIES)]
    try:
        if target.webhook_url:
            client = WebhookClient(
                url=target.webhook_url,
                timeout=target.timeout,
                logger=_sdk_logger(target),
                retry_handlers=retry_handlers,
            )
            response = client.send(text=alert.message, blocks=alert.blocks, unfurl_links=False)
            return _result(response.status_code, response.headers, response.body, target)
        client = WebClient(
            token=target.bot_token,
            base_url=target.api_url,
            timeout=target.timeout,
            logger=_sdk_logger(target),
            retry_handlers=retry_handlers,
        )
        client.chat_postMessage(channel=target.channel, text=alert.message, blocks=alert.blocks, unfurl_links=False)
        return SendResult(True)
    except SlackApiError as error:
        response = error.response
        detail = response.get("error") if isinstance(response.data, dict) else response.data
        return _result(response.status_code, response.headers, detail, target)
    except Exception as error:  # timeouts, refused connections, DNS: all worth another try
        return SendResult(False, retry=True, error=redact(f"{type(error).__name__}: {error}", target.secrets()))


def _result(status: int, headers: Mapping | None, body: object, target: SlackTarget) -> SendResult:
    if status == 200 and (not isinstance(body, str) or body == "ok"):
        return SendResult(True)
    error = redact(f"HTTP {status}: {str(body)[:200]}", target.secrets())
    if status == 429:
        return SendResult(False, retry=True, retry_after=_retry_after(headers), error=error)
    if status >= 500 or status == 408:
        return SendResult(False, retry=True, error=error)
    return SendResult(False, retry=False, error=error)  # a 4xx: the payload or the credentials are wrong


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    absorbed: list[Alert] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.retrying:
            parts.append(f"{len(self.retrying)} to retry")
        if self.failed:
            parts.append(f"{len(self.failed)} failed for good")
        return ", ".join(parts)


def deliver_pending(
    warehouse_path: str | Path,
    target: SlackTarget | None = None,
    now: datetime | None = None,
    wait_seconds: float = 0.0,
) -> DeliveryReport:
    """Send every pending alert that is due. Raises warehouse.WarehouseBusy when the warehouse is locked."""
    now = now or outbox.now_utc()
    report = DeliveryReport()
    with open_warehouse(warehouse_path, wait_seconds=wait_seconds) as conn:
        outbox.ensure_schema(conn)
        report.absorbed = outbox.absorb_spool(conn, warehouse_path)
        if target is None:
            _mark_local(conn, [a.alert_id for a in report.absorbed], now)
            claimed = []
        else:
            claimed = _claim(conn, now)
    if report.absorbed:
        outbox.append_jsonl(warehouse_path, report.absorbed)
        for alert in report.absorbed:
            log.warning("ALERT %s", alert.message)
    if not claimed:
        return report
    updates = []
    for alert in claimed:
        result = send(target, alert)
        updates.append((alert, result))
        if result.ok:
            report.sent.append(alert.alert_id)
        elif result.retry and alert.attempts + 1 < MAX_ATTEMPTS:
            report.retrying.append(alert.alert_id)
        else:
            report.failed.append(alert.alert_id)
        if result.error:
            report.errors.append(f"{alert.alert_id}: {result.error}")
            log.warning("Slack delivery of alert %s: %s", alert.alert_id, result.error)
    # The claim must be settled even if a writer holds the warehouse for a while.
    with open_warehouse(warehouse_path, wait_seconds=max(wait_seconds, 60.0)) as conn:
        for alert, result in updates:
            _settle(conn, alert, result, outbox.now_utc())
    return report


def _mark_local(conn, ids: list[str], now: datetime) -> None:
    if ids:
        conn.execute(
            f"update {outbox.SCHEMA}.alert_outbox set status = ?, sent_at = ? "
            "where alert_id in (select unnest(?)) and status = ?",
            [LOCAL, now, ids, PENDING],
        )


def _claim(conn, now: datetime) -> list[Alert]:
    ids = [
        row[0]
        for row in conn.execute(
            f"""update {outbox.SCHEMA}.alert_outbox set status = ?, next_attempt_at = ?
            where (status = ? and (next_attempt_at is null or next_attempt_at <= ?))
               or (status = ? and next_attempt_at <= ?)
            returning alert_id""",
            [SENDING, now, PENDING, now, SENDING, now - CLAIM_TIMEOUT],
        ).fetchall()
    ]
    if not ids:
        return []
    return outbox.alerts(conn, "alert_id in (select unnest(?))", [ids])


def _settle(conn, alert: Alert, result: SendResult, now: datetime) -> None:
    table = f"{outbox.SCHEMA}.alert_outbox"
    if result.ok:
        conn.execute(
            f"update {table} set status = ?, attempts = attempts + 1, sent_at = ?, last_error = null "
            "where alert_id = ?",
            [SENT, now, alert.alert_id],
        )
        return
    give_up = not result.retry or alert.attempts + 1 >= MAX_ATTEMPTS
    next_attempt = now + timedelta(seconds=result.retry_after) if result.retry_after else None
    conn.execute(
        f"update {table} set status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "where alert_id = ?",
        [FAILED if give_up else PENDING, result.error, next_attempt, alert.alert_id],
    )
