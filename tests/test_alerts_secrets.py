"""Slack secrets (the webhook URL, the bot token) never show in logs, metadata, messages or errors."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import duckdb
import pytest
from dagster import (
    AssetKey,
    EnvVar,
    MaterializeResult,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    job,
    materialize,
    op,
)
from ops_pipeline.assets.monitoring import build_evaluation_asset
from ops_pipeline.sensors.alerts import delivery_sensor, run_failure_announcer

from ops_pipeline.alerts import evaluate_and_deliver
from ops_pipeline.alerts.delivery import SlackTarget, deliver_pending, send
from ops_pipeline.alerts.outbox import Alert, jsonl_path
from ops_pipeline.resources import build_resources
from ops_pipeline.settings import Settings
from tests.alerts_support import FakeSlack, fake_bot_token, monitors, write_monitors, write_warehouse

WEBHOOK_SECRET = "/".join(("T0SECRET1", "B0SECRET2", "s3cr3tW3bh00kV4lu3"))  # assembled: no webhook-like literal
TOKEN = fake_bot_token("1111-2222-s3cr3tT0k3nV4lu3")
SECRETS = (WEBHOOK_SECRET, "s3cr3tW3bh00kV4lu3", TOKEN, "s3cr3tT0k3nV4lu3")


def _everything_stored(warehouse) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = ["monitoring.alert_outbox", "monitoring.evaluations"]
        dumped = [
            json.dumps(conn.execute(f"select * from {t}").fetchall(), default=str, ensure_ascii=False) for t in tables
        ]
    files = [jsonl_path(warehouse)]
    return "\n".join(dumped + [f.read_text(encoding="utf-8") for f in files if f.exists()])


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.fixture
def slack():
    with FakeSlack() as server:
        yield server


def test_secrets_stay_out_of_logs_outbox_files_messages_and_errors(tmp_path, slack, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    webhook = slack.webhook_url(WEBHOOK_SECRET)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook)
    # a proxy error page that repeats the URL it was asked for, then a success
    slack.script.append((502, {}, f"bad gateway while posting to {webhook}"))
    first = evaluate_and_deliver(warehouse, monitors=monitors(), target=SlackTarget.from_env())
    assert [a.status for a in first] == ["pending"]
    report = deliver_pending(warehouse, SlackTarget.from_env())
    assert len(report.sent) == 1

    # a failed run whose error text quotes the webhook and the token
    @op
    def post_summary():
        raise RuntimeError(f"could not post to {webhook} with {TOKEN}")

    @job
    def summary():
        post_summary()

    with instance_for_test() as instance:
        result = summary.execute_in_process(instance=instance, raise_on_error=False)
        context = build_run_status_sensor_context(
            sensor_name="announce_run_failures",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        monkeypatch.setenv("OPS_MONITORS", str(write_monitors(tmp_path / "m.yml")))
        settings = replace(Settings.from_env(), warehouse=warehouse)
        run_failure_announcer(settings)(context)
        skip = delivery_sensor(settings)(build_sensor_context(instance=instance))

    failure_message = slack.requests[-1]["body"]["text"]
    assert "could not post to" in failure_message and "[redacted]" in failure_message
    _assert_clean(
        caplog.text,
        capsys.readouterr().out,
        capsys.readouterr().err,
        _everything_stored(warehouse),
        json.dumps([r["body"] for r in slack.requests], ensure_ascii=False),
        skip.skip_message,
        repr(SlackTarget.from_env()),
        str(SlackTarget.from_env()),
        json.dumps(report.errors),
    )
    assert "[redacted]" in _everything_stored(warehouse)  # the 502 page was stored, redacted


@pytest.mark.parametrize(
    "target",
    [
        SlackTarget(webhook_url=f"htp://hooks.example/services/{WEBHOOK_SECRET}"),  # malformed URL
        SlackTarget(webhook_url=f"http://127.0.0.1:9/services/{WEBHOOK_SECRET}", timeout=2),  # nothing listening
        SlackTarget(bot_token=TOKEN, channel="#ops", api_url="http://127.0.0.1:9/api/", timeout=2),
    ],
)
def test_transport_errors_are_redacted(target, caplog):
    caplog.set_level(logging.DEBUG)
    result = send(target, Alert(alert_id="a1", kind="metric", message="hello", blocks=[]))
    assert not result.ok and result.retry and result.error
    _assert_clean(result.error, caplog.text, repr(target))


def test_a_token_echoed_by_the_api_is_not_kept(tmp_path, slack, caplog):
    caplog.set_level(logging.DEBUG)
    slack.script.append((200, {}, {"ok": False, "error": "invalid_auth", "detail": f"token {TOKEN} revoked"}))
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    target = SlackTarget(bot_token=TOKEN, channel="#ops", api_url=slack.api_url)
    [alert] = evaluate_and_deliver(warehouse, monitors=monitors(), target=target)
    assert alert.status == "failed" and "invalid_auth" in alert.last_error
    _assert_clean(caplog.text, _everything_stored(warehouse))


def test_secrets_enter_dagster_resources_as_env_vars_and_stay_out_of_runs(tmp_path, slack, monkeypatch, caplog):
    """The webhook and the PII salt are configured as EnvVar: the run's config, the resources' config
    and the event log never hold them, and the run still delivers with the value."""
    caplog.set_level(logging.DEBUG)
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.webhook_url(WEBHOOK_SECRET))
    monkeypatch.setenv("OPS_PII_SALT", "s3cr3tT0k3nV4lu3")
    monkeypatch.setenv("OPS_MONITORS", str(write_monitors(tmp_path / "m.yml")))
    settings = replace(Settings.from_env(), warehouse=warehouse)
    resources = build_resources(settings)
    assert isinstance(resources["alerting"].slack_webhook_url, EnvVar)
    assert isinstance(resources["ops"].pii_salt, EnvVar)

    @asset(key=AssetKey(["marts", "metrics_daily"]))
    def metrics_daily():
        return MaterializeResult()

    with instance_for_test() as instance:
        result = materialize([metrics_daily, build_evaluation_asset()], instance=instance, resources=resources)
        run = instance.get_run_by_id(result.run_id)
        logged = json.dumps([str(e) for e in instance.all_logs(result.run_id)], ensure_ascii=False)
    assert result.success and len(slack.requests) == 1
    _assert_clean(
        json.dumps(run.run_config, default=str),
        repr(resources),
        logged,
        caplog.text,
        json.dumps(
            [
                r._get_non_default_public_field_values()
                for r in resources.values()
                if hasattr(r, "_get_non_default_public_field_values")
            ],
            default=str,
        ),
    )
