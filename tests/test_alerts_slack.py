"""Delivery through slack-sdk to a fake Slack server on 127.0.0.1: content, retries, exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ops_pipeline.alerts import evaluate_and_deliver
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending
from ops_pipeline.alerts.outbox import now_utc
from tests.alerts_support import OUTAGE_DAY, FakeSlack, fake_bot_token, monitors, outbox_rows, write_warehouse

LAST_WEEK = [OUTAGE_DAY - timedelta(days=back) for back in range(7)]
DAGSTER = "http://dagster.example:3000"


@pytest.fixture
def warehouse(tmp_path):
    return write_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def slack():
    with FakeSlack() as server:
        yield server


def _run(warehouse, target):
    return evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=target, base_url=DAGSTER)


def _texts(blocks) -> str:
    parts = []
    for block in blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def test_webhook_message_says_what_where_why_and_links_to_dagster(warehouse, slack):
    alerts = _run(warehouse, SlackTarget(webhook_url=slack.webhook_url()))
    assert [a.status for a in alerts] == ["sent"]
    [request] = slack.requests
    assert request["path"] == "/services/T0000/B0000/XXXXXXXXXXXXXXXX"
    body = request["body"]
    assert body["blocks"][0]["type"] == "header"
    header = body["blocks"][0]["text"]["text"]
    assert "埋点完整度 Tracking completeness" in header and "drop -34.8%" in header and str(OUTAGE_DAY) in header
    text = _texts(body["blocks"])
    assert "*Actual*\n63.18%" in text and "*Expected*\n96.89%" in text and "*Severity*\ncritical" in text
    assert "*Driven by platform*\n• ios: 100% of the drop, -95% on its own" in text
    assert "*Likely cause:* `tracking`" in text and "on ios -95% while backend paid orders" in text
    sparkline = text.split("*Last 14 days*  `")[1].split("`")[0]
    assert len(sparkline) == 14 and set(sparkline) <= set("▁▂▃▄▅▆▇█") and sparkline[-1] == "▁"
    link = f"{DAGSTER}/assets/monitoring/evaluations?view=checks&checkDetail=tracking_completeness"
    assert f"<{link}|Open monitor tracking_completeness in Dagster>" in text
    assert "Owner: data-team" in text
    # the plain-text fallback carries the same story
    assert body["text"].startswith("🔴 [CRITICAL] 埋点完整度 Tracking completeness: drop -34.8%")
    assert "Likely cause: tracking" in body["text"] and "ios: 100% of the drop" in body["text"]
    [row] = outbox_rows(warehouse)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None) and row["sent_at"]


def test_bot_token_posts_with_chat_post_message(warehouse, slack):
    target = SlackTarget(bot_token=fake_bot_token("test-token"), channel="#ops-alerts", api_url=slack.api_url)
    assert [a.status for a in _run(warehouse, target)] == ["sent"]
    [request] = slack.requests
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == "Bearer " + fake_bot_token("test-token")
    assert request["body"]["channel"] == "#ops-alerts"
    assert request["body"]["blocks"][0]["type"] == "header"


def test_no_second_message_when_the_run_or_the_delivery_repeats(warehouse, slack):
    target = SlackTarget(webhook_url=slack.webhook_url())
    _run(warehouse, target)
    again = _run(warehouse, target)
    deliver_pending(warehouse, target)
    deliver_pending(warehouse, target)
    assert len(slack.requests) == 1
    assert [(a.new, a.status) for a in again] == [(False, "sent")]


@pytest.mark.parametrize("transport", ["webhook", "chat.postMessage"])
def test_a_429_is_retried_after_its_retry_after(warehouse, slack, transport):
    if transport == "webhook":
        target = SlackTarget(webhook_url=slack.webhook_url())
        slack.script.append((429, {"Retry-After": "1"}, "rate_limited"))
    else:
        target = SlackTarget(bot_token=fake_bot_token("test-token"), channel="C123", api_url=slack.api_url)
        slack.script.append((429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}))
    alerts = _run(warehouse, target)
    assert [a.status for a in alerts] == ["sent"]
    first, second = slack.requests
    assert second["at"] - first["at"] >= 1.0
    assert second["body"] == first["body"]
    assert outbox_rows(warehouse)[0]["attempts"] == 1


def test_a_long_retry_after_waits_for_a_later_tick(warehouse, slack):
    slack.script.append((429, {"Retry-After": "120"}, "rate_limited"))
    target = SlackTarget(webhook_url=slack.webhook_url())
    assert [a.status for a in _run(warehouse, target)] == ["pending"]
    row = outbox_rows(warehouse)[0]
    assert row["attempts"] == 1 and "HTTP 429" in row["last_error"]
    assert deliver_pending(warehouse, target).sent == []  # not due yet: nothing sent
    assert len(slack.requests) == 1
    report = deliver_pending(warehouse, target, now=now_utc() + timedelta(seconds=121))
    assert len(report.sent) == 1 and len(slack.requests) == 2
    assert outbox_rows(warehouse)[0]["status"] == "sent"


def test_a_500_leaves_the_alert_pending_and_the_next_tick_sends_it_once(warehouse, slack):
    slack.script.append((500, {}, {"ok": False, "error": "internal_error"}))
    target = SlackTarget(bot_token=fake_bot_token("test-token"), channel="C123", api_url=slack.api_url)
    assert [a.status for a in _run(warehouse, target)] == ["pending"]
    row = outbox_rows(warehouse)[0]
    assert (row["status"], row["attempts"]) == ("pending", 1) and "500" in row["last_error"]
    assert len(deliver_pending(warehouse, target).sent) == 1  # the next sensor tick
    assert deliver_pending(warehouse, target).sent == []
    assert len(slack.requests) == 2
    row = outbox_rows(warehouse)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)


def test_a_timeout_is_retried_on_the_next_tick(warehouse, slack):
    slack.delay = 2.0
    target = SlackTarget(webhook_url=slack.webhook_url(), timeout=1)
    assert [a.status for a in _run(warehouse, target)] == ["pending"]
    assert "timed out" in outbox_rows(warehouse)[0]["last_error"].lower()
    slack.delay = 0.0
    assert len(deliver_pending(warehouse, target).sent) == 1


def test_a_rejected_message_fails_for_good_without_looping(warehouse, slack):
    slack.script.append((400, {}, "invalid_blocks"))
    target = SlackTarget(webhook_url=slack.webhook_url())
    assert [a.status for a in _run(warehouse, target)] == ["failed"]
    assert deliver_pending(warehouse, target).sent == []
    assert len(slack.requests) == 1
    assert "invalid_blocks" in outbox_rows(warehouse)[0]["last_error"]


def test_environment_selects_the_transport(monkeypatch):
    for name in ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    assert SlackTarget.from_env() is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_bot_token("1"))
    assert SlackTarget.from_env() is None  # a token without a channel is not enough
    monkeypatch.setenv("SLACK_CHANNEL", "#ops")
    assert SlackTarget.from_env().kind == "chat.postMessage to #ops"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "/".join(("https://hooks.slack.com/services", "T", "B", "C")))
    assert SlackTarget.from_env().kind == "webhook"
    assert json.dumps(str(SlackTarget.from_env())) == '"SlackTarget(webhook)"'
