"""Deliver the outbox to Slack through the official SDK (docs/alerting.md, Delivery).

SLACK_WEBHOOK_URL selects an incoming webhook (slack_sdk.webhook.WebhookClient);
otherwise SLACK_BOT_TOKEN with SLACK_CHANNEL selects chat.postMessage
(slack_sdk.WebClient; SLACK_API_URL overrides its base URL). Neither: Slack
is off and alerts stay local (outbox table, alerts.jsonl, run log).

One call delivers what is due, one alert after the other, for at most its
budget (DELIVERY_BUDGET_SECONDS): no alert is started once the budget is
spent, so a call lasts at most the budget plus one send (one timeout). What is
left stays pending, due at once, for the next tick.

A rate-limited send (429) holds the whole delivery, not only its alert: while
its Retry-After is short (MAX_INLINE_WAIT), fits the budget and retries remain,
the delivery sleeps for it and sends the alert again; otherwise it stops, and
that alert and every alert after it stay pending with next_attempt_at at the
end of the Retry-After. A timeout, a connection error or a 5xx leaves the
alert pending with attempts + 1 for the next sensor tick.
Rows are claimed (status `sending`) before the send, so two deliverers never
send the same alert; a claim older than CLAIM_TIMEOUT is taken back (only a
crash between Slack accepting and the status update can repeat a message).
Secrets come from the environment only (through Settings) and are redacted from every error
string and log record this module produces.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.outbox import FAILED, LOCAL, PENDING, SENDING, SENT, WEEKLY_REPORT, Alert, status_summary
from ops_pipeline.settings import DEFAULT_SLACK_API_URL, Settings
from ops_pipeline.warehouse import open_warehouse

TIMEOUT_SECONDS = 10
# The longest one delivery talks to Slack (and waits for its Retry-After) before it leaves the rest
# pending for the next tick; a call lasts at most this plus one send. It fits a Dagster sensor tick
# (60 s) and keeps a run from waiting minutes on a slow Slack.
DELIVERY_BUDGET_SECONDS = 30.0
# Retry-After up to this many seconds is waited for in the same delivery (within its budget); longer
# ones stop the delivery until then.
MAX_INLINE_WAIT = 30
RATE_LIMIT_RETRIES = 2
RETRY_AFTER_WITHOUT_HEADER = 1.0  # a 429 without Retry-After (Slack always sends one)
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


class _ConnectionRetry(ConnectionErrorRetryHandler):
    """The SDK's retry of a dropped or refused connection, but not of a connection that timed out: a
    slow Slack would cost two timeouts per alert. (A 429 is not retried by the SDK: deliver_pending
    paces the whole delivery on it.)"""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if isinstance(error, TimeoutError) or (isinstance(error, URLError) and isinstance(error.reason, TimeoutError)):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


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
    retry_after: float | None = None  # seconds Slack asked to wait (a 429)
    error: str | None = None

    @property
    def rate_limited(self) -> bool:
        return self.retry_after is not None


def send(target: SlackTarget, alert: Alert) -> SendResult:
    """One alert to Slack; never raises, never returns a secret."""
    retry_handlers = [_ConnectionRetry()]
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
        if alert.kind == WEEKLY_REPORT:
            return _upload_report(client, target, alert)
        client.chat_postMessage(channel=target.channel, text=alert.message, blocks=alert.blocks, unfurl_links=False)
        return SendResult(True)
    except SlackApiError as error:
        response = error.response
        detail = response.get("error") if isinstance(response.data, dict) else response.data
        return _result(response.status_code, response.headers, detail, target)
    except Exception as error:  # timeouts, refused connections, DNS: all worth another try
        return SendResult(False, retry=True, error=redact(f"{type(error).__name__}: {error}", target.secrets()))


def _upload_report(client: WebClient, target: SlackTarget, alert: Alert) -> SendResult:
    """A weekly report with a bot token: its PDF uploaded to the channel (files_upload_v2: the SDK gets an
    upload URL, posts the file there, then completes the upload), the Block Kit summary as the file's
    message. A report whose file is gone is not retried."""
    pdf = Path((alert.drill_down or {}).get("pdf", ""))
    if not pdf.is_file():
        return SendResult(False, retry=False, error=f"the report's PDF is missing: {pdf}")
    client.files_upload_v2(
        channel=target.channel,
        file=str(pdf),
        filename=pdf.name,
        title=alert.label,
        # blocks, not initial_comment: Slack ignores the blocks of an upload that has an initial comment.
        blocks=json.dumps(alert.blocks, ensure_ascii=False),
    )
    return SendResult(True)


def _result(status: int, headers: Mapping | None, body: object, target: SlackTarget) -> SendResult:
    if status == 200 and (not isinstance(body, str) or body == "ok"):
        return SendResult(True)
    error = redact(f"HTTP {status}: {str(body)[:200]}", target.secrets())
    if status == 429:
        retry_after = _retry_after(headers)
        retry_after = RETRY_AFTER_WITHOUT_HEADER if retry_after is None else max(retry_after, 0.0)
        return SendResult(False, retry=True, retry_after=retry_after, error=error)
    if status >= 500 or status == 408:
        return SendResult(False, retry=True, error=error)
    return SendResult(False, retry=False, error=error)  # a 4xx: the payload or the credentials are wrong


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)  # tried, failed, pending for a later tick
    deferred: list[str] = field(default_factory=list)  # not tried: budget spent or Slack's Retry-After
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    absorbed: list[Alert] = field(default_factory=list)
    stopped: str | None = None  # why the delivery left alerts untried

    def summary(self) -> str:
        statuses = [SENT] * len(self.sent) + [PENDING] * (len(self.retrying) + len(self.deferred))
        text = status_summary(statuses + [FAILED] * len(self.failed))
        return text + (f"; {len(self.deferred)} not tried: {self.stopped}" if self.deferred else "")


def deliver_pending(
    warehouse_path: str | Path,
    target: SlackTarget | None = None,
    now: datetime | None = None,
    wait_seconds: float = 0.0,
    budget_seconds: float | None = None,
) -> DeliveryReport:
    """Send the pending alerts that are due, for at most `budget_seconds` (default
    DELIVERY_BUDGET_SECONDS) plus one send; what is left stays pending for the next tick. Raises
    warehouse.WarehouseBusy when the warehouse is locked."""
    now = now or outbox.now_utc()
    budget = DELIVERY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
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
    deadline = time.monotonic() + budget
    updates: list[tuple[Alert, SendResult | None, datetime | None]] = []
    for index, alert in enumerate(claimed):
        if time.monotonic() >= deadline:
            report.stopped = f"the delivery budget of {budget:g} s was spent"
            updates += [(rest, None, None) for rest in claimed[index:]]
            break
        result = _send_paced(target, alert, deadline)
        resume_at = outbox.now_utc() + timedelta(seconds=result.retry_after) if result.rate_limited else None
        updates.append((alert, result, resume_at))
        if result.ok:
            report.sent.append(alert.alert_id)
        elif result.retry and alert.attempts + 1 < MAX_ATTEMPTS:
            report.retrying.append(alert.alert_id)
        else:
            report.failed.append(alert.alert_id)
        if result.error:
            report.errors.append(f"{alert.alert_id}: {result.error}")
            log.warning("Slack delivery of alert %s: %s", alert.alert_id, result.error)
        if resume_at is not None:  # Slack asked this delivery to wait: nothing more is sent before then
            report.stopped = (
                f"Slack rate limit (Retry-After {result.retry_after:g} s), next attempt {resume_at:%H:%M:%S} UTC"
            )
            updates += [(rest, None, resume_at) for rest in claimed[index + 1 :]]
            break
    report.deferred = [alert.alert_id for alert, result, _ in updates if result is None]
    if report.deferred:
        log.info("Slack delivery: %d alert(s) left pending: %s", len(report.deferred), report.stopped)
    # The claim must be settled even if a writer holds the warehouse for a while.
    with open_warehouse(warehouse_path, wait_seconds=max(wait_seconds, 60.0)) as conn:
        for alert, result, resume_at in updates:
            _settle(conn, alert, result, outbox.now_utc(), resume_at, report.stopped)
    return report


def _send_paced(target: SlackTarget, alert: Alert, deadline: float) -> SendResult:
    """Send one alert; on a 429 the delivery sleeps for the Retry-After and sends it again, while the
    wait is short, retries remain and the budget (`deadline`, time.monotonic()) allows it."""
    for retry in range(RATE_LIMIT_RETRIES + 1):
        result = send(target, alert)
        if not result.rate_limited:
            return result
        wait = result.retry_after
        if retry == RATE_LIMIT_RETRIES or wait > MAX_INLINE_WAIT or time.monotonic() + wait >= deadline:
            return result
        log.info("Slack rate limit: waiting %g s before the next message", wait)
        time.sleep(wait)
    return result


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


def _settle(
    conn,
    alert: Alert,
    result: SendResult | None,
    now: datetime,
    resume_at: datetime | None = None,
    stopped: str | None = None,
) -> None:
    """Write what became of a claimed alert. `result` None: not tried (the claim is released: pending,
    attempts unchanged, due at `resume_at`, or at once)."""
    table = f"{outbox.SCHEMA}.alert_outbox"
    if result is None:
        conn.execute(
            f"update {table} set status = ?, last_error = ?, next_attempt_at = ? where alert_id = ?",
            [PENDING, f"not tried yet: {stopped}", resume_at, alert.alert_id],
        )
        return
    if result.ok:
        conn.execute(
            f"update {table} set status = ?, attempts = attempts + 1, sent_at = ?, last_error = null "
            "where alert_id = ?",
            [SENT, now, alert.alert_id],
        )
        return
    give_up = not result.retry or alert.attempts + 1 >= MAX_ATTEMPTS
    conn.execute(
        f"update {table} set status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "where alert_id = ?",
        [FAILED if give_up else PENDING, result.error, resume_at, alert.alert_id],
    )
