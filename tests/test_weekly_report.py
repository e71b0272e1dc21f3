"""The weekly operations report of a generated week: its figures are the marts', computed here
independently in SQL; every section is there in the HTML and in the PDF's text; the PDF embeds a
CJK font; the Slack upload goes through slack-sdk's files_upload_v2 to a local stand-in, once.

The session's generated run (conftest.generated_run: 2026-09-01 .. 2026-09-21) completes ISO week
2026-W38 (2026-09-14 .. 2026-09-20), so `ops-pipeline run` itself built the report beside the warehouse.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import duckdb
import pytest

from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.alerts.outbox import SENT
from ops_pipeline.cli import main
from ops_pipeline.settings import Settings
from ops_pipeline.weekly.deliver import announce, report_alert_id
from ops_pipeline.weekly.weeks import Week, WeekError, last_complete_week
from tests.alerts_support import FakeSlack, fake_bot_token
from tests.system_packages import command

WEEK = Week(2026, 38)
PREVIOUS = (date(2026, 9, 7), date(2026, 9, 13))
SECTIONS = [
    ("headline", "核心指标 Headline"),
    ("funnel", "转化漏斗 Funnel"),
    ("acquisition", "渠道与KOL Acquisition"),
    ("retention", "留存 Retention"),
    ("content", "内容 Content"),
    ("users", "用户分层 Users"),
    ("campaigns", "活动与实验 Campaigns and experiments"),
    ("health", "异常与数据质量 What swung, and data health"),
]


def test_iso_weeks_parse_and_the_last_complete_one():
    assert Week.parse("2026-W38").start == date(2026, 9, 14) and Week.parse("2026-W38").end == date(2026, 9, 20)
    assert str(Week.parse("2026-W01")) == "2026-W01" and Week.parse("2026-W01").start == date(2025, 12, 29)
    for bad in ("2026-38", "2026W38", "2026-W54", "26-W01"):
        with pytest.raises(WeekError, match=r"2026-W47|no ISO week"):
            Week.parse(bad)
    assert last_complete_week(date(2026, 9, 20)) == WEEK  # a Sunday completes its week
    assert last_complete_week(date(2026, 9, 21)) == WEEK
    assert last_complete_week(date(2026, 9, 19)) == Week(2026, 37)


@pytest.fixture(scope="module")
def report(generated_run):
    assert generated_run.exit_code == 0, generated_run.output
    folder = generated_run.warehouse.parent / "reports" / "weekly"
    return {
        "run": generated_run,
        "html": (folder / f"{WEEK}.html"),
        "pdf": (folder / f"{WEEK}.pdf"),
    }


@pytest.fixture(scope="module")
def marts(report):
    """The week's figures, computed here from the marts' daily rows (not through the report's code)."""
    with duckdb.connect(str(report["run"].warehouse), read_only=True) as conn:

        def one(sql, first=WEEK.start, last=WEEK.end):
            return conn.execute(sql, [first, last]).fetchone()

        kpi = "from marts.kpi_daily where date between ? and ?"
        figures = {
            "dau": one(f"select avg(dau) {kpi}")[0],
            "paid_gmv": one(f"select sum(paid_gmv) {kpi}")[0],
            "orders": one(f"select sum(orders) {kpi}")[0],
            "new_users": one(f"select sum(new_users) {kpi}")[0],
            "pay_rate": one(f"select sum(paying_users) / sum(dau) {kpi}")[0],
            "arpu": one(f"select sum(paid_gmv) / sum(dau) {kpi}")[0],
            "visit_to_pay": one(f"select sum(funnel_completers) / sum(funnel_entrants) {kpi}")[0],
            "wau": conn.execute("select wau from marts.kpi_daily where date = ?", [WEEK.end]).fetchone()[0],
            "previous_paid_gmv": one(f"select sum(paid_gmv) {kpi}", *PREVIOUS)[0],
        }

        def per_key(sql):
            return dict(conn.execute(sql, [WEEK.start, WEEK.end]).fetchall())

        steps = per_key(
            "select step_name, sum(persons) from marts.funnel_daily where date between ? and ? group by all"
        )
        spend = per_key(
            "select channel, sum(spend) from marts.channel_daily where date between ? and ? and spend > 0 group by all"
        )
        segments = dict(conn.execute("select segment, count(*) from marts.rfm_segments group by all").fetchall())
        quarantine = per_key(
            "select source, sum(rows_quarantined) from raw.ingestion_log "
            "where landing_date between ? and ? group by all"
        )
    return {"figures": figures, "steps": steps, "spend": spend, "segments": segments, "quarantine": quarantine}


def _cards(page: str) -> dict[str, str]:
    return {m: html.unescape(v) for m, v in re.findall(r'data-metric="([a-z_]+)">([^<]+)<', page)}


def _pdf_text(path) -> str:
    pdftotext = command("pdftotext", package="poppler-utils")
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_run_that_completes_a_week_builds_its_report_and_says_where(report):
    output = report["run"].output
    assert f"Weekly report {WEEK} (运营数据周报):" in output
    assert str(report["html"]) in output and str(report["pdf"]) in output
    assert report["html"].stat().st_size > 50_000 and report["pdf"].read_bytes()[:5] == b"%PDF-"


def test_html_headline_holds_the_marts_values(report, marts):
    page = report["html"].read_text(encoding="utf-8")
    cards, figures = _cards(page), marts["figures"]
    assert cards["dau"] == f"{figures['dau']:,.0f}"
    assert cards["wau"] == f"{figures['wau']:,.0f}"
    assert cards["paid_gmv"] == f"¥{figures['paid_gmv']:,.0f}"
    assert cards["orders"] == f"{figures['orders']:,.0f}"
    assert cards["new_users"] == f"{figures['new_users']:,.0f}"
    assert cards["pay_rate"] == f"{figures['pay_rate']:.2%}"
    assert cards["arpu"] == f"{figures['arpu']:,.2f}"
    assert cards["visit_to_pay"] == f"{figures['visit_to_pay']:.2%}"
    change = figures["paid_gmv"] / figures["previous_paid_gmv"] - 1
    assert f"Paid GMV ¥{figures['paid_gmv']:,.0f} ({change:+.1%} 环比)" in page


def test_html_has_every_section_charts_and_the_marts_tables(report, marts):
    page = html.unescape(report["html"].read_text(encoding="utf-8"))
    for anchor, title in SECTIONS:
        assert f'<section id="{anchor}">' in page and title in page
    # Self-contained: the charts are embedded, nothing is fetched.
    assert page.count('src="data:image/svg+xml;base64,') == 4
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for step in ("product_view", "add_to_cart", "order_submit", "pay_success"):
        assert f'<td class="num">{marts["steps"][step]:,.0f}</td>' in page, step
    for channel, spend in marts["spend"].items():
        assert f"<td>{channel}" in page and f"¥{spend:,.0f}" in page, channel
    for segment, users in marts["segments"].items():
        assert f'<td>{segment}</td><td class="num">{users:,.0f}</td>' in page, segment
    for source, quarantined in marts["quarantine"].items():
        assert f'<td>{source}</td><td class="num">' in page and f'<td class="num">{quarantined:,.0f}</td>' in page


def test_pdf_text_holds_the_sections_and_values_and_embeds_a_cjk_font(report, marts):
    text = _pdf_text(report["pdf"])
    flat = re.sub(r"\s+", " ", text)
    for _, title in SECTIONS:
        assert title.split(" ")[0] in flat, title
    figures = marts["figures"]
    assert f"¥{figures['paid_gmv']:,.0f}" in flat and f"{figures['pay_rate']:.2%}" in flat
    assert f"{figures['wau']:,.0f}" in flat and "运营数据周报" in flat
    pdffonts = command("pdffonts", package="poppler-utils")
    fonts = subprocess.run([pdffonts, str(report["pdf"])], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes yes " in line for line in cjk), fonts  # embedded, subset


def test_the_weekly_partition_is_materialised_in_dagster(report):
    from dagster import AssetKey, DagsterInstance

    instance = DagsterInstance.from_config(str(report["run"].warehouse.parent / "dagster_home"))
    key = AssetKey(["reports", "weekly_report"])
    assert WEEK.start.isoformat() in instance.get_materialized_partitions(key)


def test_cli_report_refuses_a_week_the_warehouse_does_not_hold(report, capsys):
    warehouse = str(report["run"].warehouse)
    assert main(["report", "--week", "2026-W40", "--warehouse", warehouse]) == 2
    error = capsys.readouterr().err
    assert "2026-W40 (2026-09-28 .. 2026-10-04)" in error and "2026-09-01 .. 2026-09-21" in error
    assert main(["report", "--week", "2026-40", "--warehouse", warehouse]) == 2
    assert "YYYY-Www" in capsys.readouterr().err


@pytest.fixture
def fresh_warehouse(report, tmp_path):
    """A copy of the generated warehouse whose outbox has not announced the week yet."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(report["run"].warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        conn.execute("delete from monitoring.alert_outbox where alert_id = ?", [report_alert_id(WEEK)])
    return copy


def _built(report, warehouse):
    from ops_pipeline.weekly.build import WeeklyReport

    return WeeklyReport(WEEK, report["html"], report["pdf"], ["支付GMV <!channel> & more"], 0.0, None)


def test_bot_token_uploads_the_pdf_with_files_upload_v2_once(report, fresh_warehouse):
    settings = replace(Settings.from_env({}), warehouse=fresh_warehouse)
    built = _built(report, fresh_warehouse)
    with FakeSlack() as slack:
        target = SlackTarget(bot_token=fake_bot_token("weekly"), channel="C0REPORTS", api_url=slack.api_url)
        stored = announce(settings, built, target)
        assert stored.new and stored.status == SENT
        paths = [r["path"].split("?")[0] for r in slack.requests]
        assert paths == ["/api/files.getUploadURLExternal", "/upload/v1/F00000001", "/api/files.completeUploadExternal"]
        get_url, upload, complete = slack.requests
        pdf = report["pdf"].read_bytes()
        assert get_url["body"]["filename"] == f"{WEEK}.pdf" and int(get_url["body"]["length"]) == len(pdf)
        assert upload["body"] == pdf
        assert complete["body"]["channel_id"] == "C0REPORTS" and "initial_comment" not in complete["body"]
        blocks = complete["body"]["blocks"]
        assert blocks.startswith("[") and '"type": "header"' in blocks and str(WEEK) in blocks
        # Text from data reaches Slack escaped: no channel-wide mention.
        assert "&lt;!channel&gt; &amp; more" in blocks and "<!channel>" not in blocks
        assert fake_bot_token("weekly") not in str(slack.requests[0]["body"])
        # Any re-run announces nothing new.
        again = announce(settings, built, target)
        assert not again.new and again.status == SENT and len(slack.requests) == 3


def test_webhook_posts_the_summary_and_where_the_report_is(report, fresh_warehouse):
    settings = replace(Settings.from_env({}), warehouse=fresh_warehouse)
    built = _built(report, fresh_warehouse)
    with FakeSlack() as slack:
        target = SlackTarget(webhook_url=slack.webhook_url())
        assert announce(settings, built, target).status == SENT
        [request] = slack.requests
        assert request["path"].startswith("/services/")
        text = str(request["body"]["blocks"])
        assert str(report["pdf"]) in text and str(report["html"]) in text and "&lt;!channel&gt;" in text
        announce(settings, built, target)
        assert len(slack.requests) == 1


def test_a_daemon_run_that_completes_the_week_requests_its_report(report):
    """The run status sensor on the session's real pipeline run: skipped as it is (a command-line run
    builds its week itself), the week's partition requested for the same run launched by the daemon."""
    from dagster import (
        DagsterEventType,
        DagsterInstance,
        DagsterRunStatus,
        RunRequest,
        SkipReason,
        build_run_status_sensor_context,
    )

    from ops_pipeline.definitions import build_definitions
    from ops_pipeline.instance import PID_TAG

    run_dir = report["run"].warehouse.parent
    settings = replace(Settings.from_env(), landing_dir=report["run"].landing, warehouse=report["run"].warehouse)
    sensor = build_definitions(settings).resolve_sensor_def("report_completed_week")
    instance = DagsterInstance.from_config(str(run_dir / "dagster_home"))
    # the session's first pipeline run (the command line's); later tests of the session may add others
    run = [r for r in instance.get_runs() if r.job_name == "pipeline" and r.status == DagsterRunStatus.SUCCESS][-1]
    success = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_SUCCESS)[0].dagster_event

    def evaluate(dagster_run):
        return sensor(build_run_status_sensor_context("report_completed_week", success, instance, dagster_run))

    skipped = evaluate(run)
    assert isinstance(skipped, SkipReason) and "command line" in skipped.skip_message
    launched = run.with_tags({k: v for k, v in run.tags.items() if k != PID_TAG})
    request = evaluate(launched)
    assert isinstance(request, RunRequest)
    assert request.partition_key == WEEK.start.isoformat() and request.run_key == f"{WEEK}:{run.run_id}"
