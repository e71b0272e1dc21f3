"""Issue 15, alerting: text from data cannot ping a channel, the run summary says what Slack has,
a 429 holds the whole delivery, and one delivery is bounded in time.

Real parts throughout: messages built by the alert code, the real slack_sdk over HTTP to the local
Slack stand-in (tests/alerts_support.FakeSlack), the real DuckDB outbox.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import replace
from datetime import date, timedelta
from datetime import time as clock
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from ops_pipeline.alerts import delivery, evaluate_and_deliver, outbox
from ops_pipeline.alerts.announcements import check_failure_alert, enqueue, run_failure_alert
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending
from ops_pipeline.alerts.freshness import late_source_alert
from ops_pipeline.alerts.message import monitor_url, render, run_report_lines
from ops_pipeline.alerts.outbox import Alert, now_utc
from ops_pipeline.pipeline import RunOutcome
from ops_pipeline.report import run_report
from ops_pipeline.settings import Settings
from tests.alerts_support import (
    OUTAGE_DAY,
    FakeSlack,
    fake_bot_token,
    monitors,
    outbox_rows,
    synthetic_metrics,
    write_warehouse,
)

DAGSTER = "http://dagster.example:3000"
LAST_WEEK = [OUTAGE_DAY - timedelta(days=back) for back in range(7)]
# Slack's mrkdwn link as the messages write it: <http(s)://url|text>, neither part with < or >.
LINK = re.compile(r"<https?://[^\s<>|]+\|[^<>]+>")
HOSTILE_FILE = "events/2026-07-12_<!channel> <!here>.csv"


@pytest.fixture
def slack():
    with FakeSlack() as server:
        yield server


def _texts(payload) -> list[str]:
    """Every string Slack would parse: the fallback `text` and each `text` of every block, element and
    field, mrkdwn and plain_text alike, however deep."""
    found = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += _texts(value)
    elif isinstance(payload, list):
        for item in payload:
            found += _texts(item)
    return found


def _assert_inert(message: str, blocks: list[dict]) -> list[str]:
    """No mention, channel or special command from data, and no < or > but those of our links;
    returns the links."""
    texts = [message, *_texts(blocks)]
    assert len(texts) > 3
    links = []
    for text in texts:
        for control in ("<!", "<@", "<#"):
            assert control not in text, text
        links += LINK.findall(text)
        rest = LINK.sub("", text)
        assert "<" not in rest and ">" not in rest, text
    return links


def _all_text(alert: Alert) -> str:
    return "\n".join([alert.message, *_texts(alert.blocks)])


# --- 1. mrkdwn injection -------------------------------------------------------------------------


def test_a_metric_swing_escapes_slice_drill_down_reasons_label_monitor_and_owner():
    alert = render(
        Alert(
            alert_id="a1",
            kind="metric",
            monitor="gmv_by_kol<!here>",
            metric="paid_gmv",
            label="Ads & <b>GMV</b>",
            severity="critical",
            owner="<!subteam^S0123|ops> & growth",
            date=date(2026, 7, 12),
            dimension="kol",
            dimension_value="<!channel> 李佳琦",
            value=50.0,
            expected=100.0,
            relative_change=-0.5,
            z=-6.0,
            likely_cause="business",
            cause_reasons=["sales of <#C0GENERAL> fell > 40% & orders < 10"],
            drill_down={
                "dimension": "kol_name<@U0>",
                "concentrated": True,
                "top": [{"dimension_value": "<@U0BOSS> & co", "share": 0.8, "relative_change": -0.5}],
            },
            sparkline=[100.0] * 13 + [50.0],
            link=monitor_url(DAGSTER, "gmv_by_kol<!here>"),
        )
    )
    links = _assert_inert(alert.message, alert.blocks)
    text = _all_text(alert)
    # each hostile value is there, escaped (what Slack shows as the original text)
    assert "Ads &amp; &lt;b&gt;GMV&lt;/b&gt; [kol=&lt;!channel&gt; 李佳琦]" in alert.message.splitlines()[0]
    assert alert.blocks[0]["text"]["type"] == "plain_text"
    assert alert.blocks[0]["text"]["text"].startswith(
        "🔴 Ads &amp; &lt;b&gt;GMV&lt;/b&gt; [kol=&lt;!channel&gt; 李佳琦]"
    )
    assert "*Driven by kol_name&lt;@U0&gt;*\n• &lt;@U0BOSS&gt; &amp; co: 80% of the drop, -50% on its own" in text
    assert "• sales of &lt;#C0GENERAL&gt; fell &gt; 40% &amp; orders &lt; 10" in text
    assert "Owner: &lt;!subteam^S0123|ops&gt; &amp; growth" in text
    assert "Monitor `gmv_by_kol&lt;!here&gt;`" in text
    # the link still works: the URL as the Dagster UI builds it, its text escaped
    url = f"{DAGSTER}/assets/monitoring/evaluations?view=checks&checkDetail=gmv_by_kol__here_"
    assert links == [f"<{url}|Open monitor gmv_by_kol&lt;!here&gt; in Dagster>"]
    assert alert.label == "Ads & <b>GMV</b>"  # the stored fields keep the data as it was


def test_a_run_failure_escapes_the_file_name_in_its_reason():
    alert = run_failure_alert(
        "0123456789abcdef", "pipeline", [f"raw__events: cannot read {HOSTILE_FILE}: not a CSV"], base_url=DAGSTER
    )
    links = _assert_inert(alert.message, alert.blocks)
    escaped = "events/2026-07-12_&lt;!channel&gt; &lt;!here&gt;.csv"
    assert f"raw__events: cannot read {escaped}: not a CSV" in alert.message
    assert f"• raw__events: cannot read {escaped}: not a CSV" in alert.blocks[1]["text"]["text"]
    assert links == [f"<{DAGSTER}/runs/0123456789abcdef|Open the run in Dagster>"]


def test_a_check_failure_escapes_the_check_and_what_it_observed():
    alert = check_failure_alert(
        "r1",
        ["raw", "events"],
        "no_<!everyone>_rows",
        description="3 rows where amount > 100 & owner <@U1>",
        partition="2026-07-12",
        base_url=DAGSTER,
    )
    links = _assert_inert(alert.message, alert.blocks)
    assert alert.blocks[0]["text"]["text"] == "🔴 Blocking check failed: no_&lt;!everyone&gt;_rows on raw/events"
    assert "3 rows where amount &gt; 100 &amp; owner &lt;@U1&gt;" in alert.message
    # the check name is a query value of the link: percent-encoded by urlencode, never raw
    url = f"{DAGSTER}/assets/raw/events?view=checks&checkDetail=no_%3C%21everyone%3E_rows"
    assert links == [f"<{url}|Open the check in Dagster>"]


def test_a_late_source_escapes_the_landing_folder():
    alert = late_source_alert("events", date(2026, 7, 12), clock(10), Path("/data/<!here>&landing"), DAGSTER)
    links = _assert_inert(alert.message, alert.blocks)
    assert "no file /data/&lt;!here&gt;&amp;landing/events/2026-07-12* by the deadline" in alert.message
    assert links == [f"<{DAGSTER}/assets/landing/events|Open the landing source in Dagster>"]


def test_a_link_cannot_break_out_of_its_brackets_and_only_http_links_are_written():
    hostile = replace(
        run_failure_alert("r2", "pipeline", ["x"], base_url=DAGSTER), link="http://d.example/runs/r2|<!channel> x"
    )
    links = _assert_inert(render(hostile).message, render(hostile).blocks)
    assert links == ["<http://d.example/runs/r2%7C%3C!channel%3E%20x|Open the run in Dagster>"]
    script = render(replace(hostile, link="javascript:alert(1)"))
    assert _assert_inert(script.message, script.blocks) == [] and "javascript" not in _all_text(script)


def test_a_long_header_is_cut_between_entities():
    alert = run_failure_alert("r3", "<" * 200, [], base_url=DAGSTER)
    header = alert.blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("&lt;")
    _assert_inert(alert.message, alert.blocks)


@pytest.mark.parametrize("transport", ["webhook", "chat.postMessage"])
def test_what_slack_receives_is_escaped(tmp_path, slack, transport):
    if transport == "webhook":
        target = SlackTarget(webhook_url=slack.webhook_url())
    else:
        target = SlackTarget(bot_token=fake_bot_token("test-token"), channel="C123", api_url=slack.api_url)
    failure = run_failure_alert("feedc0de00000000", "pipeline", [f"raw__events: cannot read {HOSTILE_FILE}"], DAGSTER)
    [stored] = enqueue(tmp_path / "warehouse.duckdb", [failure], target)
    assert stored.status == "sent"
    [request] = slack.requests
    body = request["body"]
    assert _assert_inert(body["text"], body["blocks"]) == [f"<{DAGSTER}/runs/feedc0de00000000|Open the run in Dagster>"]
    assert "cannot read events/2026-07-12_&lt;!channel&gt; &lt;!here&gt;.csv" in body["text"]
    assert "<!" not in json.dumps(body, ensure_ascii=False)


def test_a_swing_evaluated_on_hostile_slice_values_reaches_slack_escaped(tmp_path, slack):
    """The whole path: a platform named '<!channel> ios' in marts.metrics_daily drives the swing."""
    frame = synthetic_metrics()
    frame.loc[frame["dimension_value"] == "ios", "dimension_value"] = "<!channel> ios"
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", frame)
    [alert] = evaluate_and_deliver(
        warehouse, LAST_WEEK, monitors=monitors(), target=SlackTarget(webhook_url=slack.webhook_url()), base_url=DAGSTER
    )
    assert alert.status == "sent"
    body = slack.requests[0]["body"]
    links = _assert_inert(body["text"], body["blocks"])
    url = f"{DAGSTER}/assets/monitoring/evaluations?view=checks&checkDetail=tracking_completeness"
    assert links == [f"<{url}|Open monitor tracking_completeness in Dagster>"]
    assert "• &lt;!channel&gt; ios: 100% of the drop, -95% on its own" in "\n".join(_texts(body["blocks"]))
    assert "&lt;!channel&gt; ios: 100% of the drop" in body["text"]


# --- 2. the run summary says what Slack has ------------------------------------------------------


def test_after_a_timeout_the_summary_says_pending_not_delivered(tmp_path, slack):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    slack.delay = 2.0
    target = SlackTarget(webhook_url=slack.webhook_url(), timeout=1)
    alerts = evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=target, base_url=DAGSTER)
    lines = run_report_lines(alerts, slack_on=True)
    assert lines[0] == "Alerts for the dates built: 1 (1 new); Slack: sent 0, pending 1 (retried on the next tick)"
    assert not any("delivered to Slack" in line for line in lines)


def test_the_summary_counts_sent_pending_and_failed(tmp_path, slack):
    # three announcements, sent in alert_id order: Slack accepts the first, fails the second (5xx),
    # rejects the third (4xx): one sent, one pending, one failed for good
    slack.script.extend([(200, {}, "ok"), (500, {}, "internal_error"), (400, {}, "invalid_blocks")])
    target = SlackTarget(webhook_url=slack.webhook_url())
    alerts = [run_failure_alert(f"run{n}aaaaaaaaaaaa", "pipeline", ["boom"], DAGSTER) for n in range(3)]
    stored = enqueue(tmp_path / "warehouse.duckdb", alerts, target)
    assert sorted(a.status for a in stored) == ["failed", "pending", "sent"]
    assert run_report_lines(stored, slack_on=True)[0] == (
        "Alerts for the dates built: 3 (3 new); Slack: sent 1, pending 1 (retried on the next tick), "
        "failed 1 (not retried)"
    )


def test_the_run_report_reads_the_status_from_the_outbox_after_every_delivery(tmp_path, slack, monkeypatch):
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url())
    settings = replace(Settings.from_env(), warehouse=warehouse)
    target = SlackTarget.from_settings(settings)
    slack.script.append((503, {}, "service_unavailable"))
    alerts = evaluate_and_deliver(warehouse, LAST_WEEK, monitors=monitors(), target=target, base_url=DAGSTER)
    assert [a.status for a in alerts] == ["pending"]
    with duckdb.connect(str(warehouse)) as conn:  # what summarise_warehouse reads of a built warehouse
        conn.execute("create schema raw")
        conn.execute(
            "create table raw.ingestion_log (source varchar, rows_read int, rows_loaded int, rows_quarantined int)"
        )
        conn.execute("create table raw.quarantine (source varchar, reason varchar)")
    outcome = RunOutcome("run1", OUTAGE_DAY, OUTAGE_DAY, True, alerts=alerts)
    assert "Slack: sent 0, pending 1 (retried on the next tick)" in run_report(settings, outcome)
    assert len(deliver_pending(warehouse, target).sent) == 1  # e.g. a later announcement's delivery
    report = run_report(settings, outcome)
    assert "Alerts for the dates built: 1 (1 new); Slack: sent 1, pending 0" in report
    assert "delivered to Slack" not in report


# --- 3. a 429 holds the whole delivery -----------------------------------------------------------


def _pending_alerts(warehouse: Path, target: SlackTarget, count: int) -> list[str]:
    """`count` announcements pending in the outbox, not yet delivered; their ids in sending order."""
    alerts = [
        run_failure_alert(f"{n:02d}run00000000000", "pipeline", [f"step {n} failed"], DAGSTER) for n in range(count)
    ]
    stored = enqueue(warehouse, alerts, target, deliver=False)
    assert [a.status for a in stored] == ["pending"] * count
    return sorted(a.alert_id for a in stored)


def _rows(warehouse: Path) -> dict[str, dict]:
    return {row["alert_id"]: row for row in outbox_rows(warehouse)}


def _outbox_alerts(warehouse: Path) -> list[Alert]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return outbox.alerts(conn)


def test_a_long_retry_after_stops_the_delivery_and_every_alert_waits_for_it(tmp_path, slack):
    warehouse, target = tmp_path / "warehouse.duckdb", SlackTarget(webhook_url=slack.webhook_url())
    first, *rest = _pending_alerts(warehouse, target, 3)
    slack.script.append((429, {"Retry-After": "120"}, "rate_limited"))
    before = now_utc()
    report = deliver_pending(warehouse, target)
    after = now_utc()
    assert len(slack.requests) == 1  # nothing more is sent while Slack asked to wait
    rows = _rows(warehouse)
    assert {row["status"] for row in rows.values()} == {"pending"}
    assert rows[first]["attempts"] == 1 and "HTTP 429" in rows[first]["last_error"]
    assert [rows[i]["attempts"] for i in rest] == [0, 0]
    for row in rows.values():  # due once the Retry-After from the header has passed, not before
        assert before + timedelta(seconds=120) <= row["next_attempt_at"] <= after + timedelta(seconds=120)
    assert (report.sent, report.retrying, report.deferred) == ([], [first], rest)
    assert report.summary().startswith("sent 0, pending 3 (retried on the next tick); 2 not tried: Slack rate limit")
    assert deliver_pending(warehouse, target).sent == [] and len(slack.requests) == 1  # not due yet
    later = deliver_pending(warehouse, target, now=now_utc() + timedelta(seconds=121))
    assert sorted(later.sent) == sorted([first, *rest]) and len(slack.requests) == 4


def test_when_the_retries_of_a_429_run_out_the_rest_of_the_delivery_waits_too(tmp_path, slack):
    warehouse, target = tmp_path / "warehouse.duckdb", SlackTarget(webhook_url=slack.webhook_url())
    _pending_alerts(warehouse, target, 3)
    retry_after = 1
    slack.script.extend([(429, {"Retry-After": str(retry_after)}, "rate_limited")] * (delivery.RATE_LIMIT_RETRIES + 1))
    deliver_pending(warehouse, target)
    after = now_utc()
    requests = slack.requests
    assert len(requests) == delivery.RATE_LIMIT_RETRIES + 1  # the first alert, then its retries; no other
    assert {json.dumps(r["body"]) for r in requests} == {json.dumps(requests[0]["body"])}
    assert all(b["at"] - a["at"] >= retry_after for a, b in pairwise(requests))
    rows = outbox_rows(warehouse)
    assert {row["status"] for row in rows} == {"pending"}
    last_429 = after - timedelta(seconds=time.monotonic() - requests[-1]["at"])
    for row in rows:
        assert row["next_attempt_at"] >= last_429 + timedelta(seconds=retry_after - 0.05)


def test_a_short_retry_after_pauses_every_later_message(tmp_path, slack):
    warehouse, target = tmp_path / "warehouse.duckdb", SlackTarget(webhook_url=slack.webhook_url())
    _pending_alerts(warehouse, target, 3)
    slack.script.append((429, {"Retry-After": "1"}, "rate_limited"))
    report = deliver_pending(warehouse, target)
    limited, *later = slack.requests
    assert len(later) == 3 and len(report.sent) == 3  # the limited alert again, then the other two
    assert all(r["at"] - limited["at"] >= 1.0 for r in later)
    assert [row["attempts"] for row in outbox_rows(warehouse)] == [1, 1, 1]


def test_a_retry_after_beyond_the_budget_is_not_slept_through(tmp_path, slack, monkeypatch):
    monkeypatch.setattr(delivery, "DELIVERY_BUDGET_SECONDS", 2.0, raising=False)
    warehouse, target = tmp_path / "warehouse.duckdb", SlackTarget(webhook_url=slack.webhook_url())
    _pending_alerts(warehouse, target, 2)
    retry_after = 5
    slack.script.append((429, {"Retry-After": str(retry_after)}, "rate_limited"))
    started, before = time.monotonic(), now_utc()
    deliver_pending(warehouse, target)
    elapsed = time.monotonic() - started
    assert elapsed < retry_after and len(slack.requests) == 1
    for row in outbox_rows(warehouse):
        assert row["status"] == "pending" and row["next_attempt_at"] >= before + timedelta(seconds=retry_after)


# --- 4. one delivery is bounded in time ----------------------------------------------------------


def test_a_slow_slack_holds_a_delivery_for_its_budget_and_the_rest_waits_for_the_next_tick(
    tmp_path, slack, monkeypatch
):
    budget, timeout, count = 2.9, 1, 5
    monkeypatch.setattr(delivery, "DELIVERY_BUDGET_SECONDS", budget, raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    target = SlackTarget(webhook_url=slack.webhook_url(), timeout=timeout)
    ids = _pending_alerts(warehouse, target, count)
    slack.delay = 2.0  # every answer comes after the client gave up
    started = time.monotonic()
    report = deliver_pending(warehouse, target)
    elapsed = time.monotonic() - started
    # each send takes one timeout; no send starts once the budget is spent
    tried = math.ceil(budget / timeout)
    assert elapsed < budget + timeout
    assert len(slack.requests) == tried
    rows = _rows(warehouse)
    assert [rows[i]["status"] for i in ids] == ["pending"] * count
    assert [rows[i]["attempts"] for i in ids] == [1] * tried + [0] * (count - tried)
    assert all("timed out" in rows[i]["last_error"].lower() for i in ids[:tried])
    assert all("budget" in rows[i]["last_error"] and rows[i]["next_attempt_at"] is None for i in ids[tried:])
    assert report.summary() == (
        f"sent 0, pending {count} (retried on the next tick); {count - tried} not tried: "
        f"the delivery budget of {budget:g} s was spent"
    )
    stored = [replace(a, new=True) for a in _outbox_alerts(warehouse)]
    assert run_report_lines(stored, slack_on=True)[0].endswith(f"sent 0, pending {count} (retried on the next tick)")
    slack.delay = 0.0
    assert sorted(deliver_pending(warehouse, target).sent) == ids  # the next tick: all of them, at once
