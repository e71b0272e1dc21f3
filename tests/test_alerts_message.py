"""Message building (pure): sparkline, numbers, the pipeline announcements."""

from datetime import date

from ops_pipeline.alerts.announcements import check_failure_alert, run_failure_alert
from ops_pipeline.alerts.message import format_value, metric_text, render, sparkline
from ops_pipeline.alerts.outbox import Alert


def test_sparkline_spans_the_eight_bars_and_keeps_gaps():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, None, 5]) == "▁ ▁"
    assert sparkline([]) == ""


def test_numbers_read_like_the_metric():
    assert format_value("pay_rate", 0.0534) == "5.34%"
    assert format_value("funnel_pay_success_conversion", 0.8) == "80.00%"
    assert format_value("paid_gmv", 123456.7) == "123,457"
    assert format_value("roas", 4.567) == "4.57"
    assert format_value("dau", None) == "n/a"


def test_a_slice_alert_names_its_slice_and_a_rise_is_a_rise():
    alert = render(
        Alert(
            alert_id="x",
            kind="metric",
            monitor="cac_by_channel",
            metric="cac",
            label="获客成本 CAC",
            severity="warning",
            date=date(2026, 2, 9),
            dimension="channel",
            dimension_value="wechat_ads",
            value=120.0,
            expected=60.0,
            relative_change=1.0,
            z=4.7,
            likely_cause="business",
            sparkline=[60.0] * 13 + [120.0],
        )
    )
    text = metric_text(alert)
    assert text.startswith("🟠 [WARNING] 获客成本 CAC [channel=wechat_ads]: rise +100.0% on 2026-02-09")
    assert alert.blocks[0]["text"]["text"].startswith("🟠 获客成本 CAC [channel=wechat_ads] rise +100.0%")


def test_run_and_check_failures_link_to_dagster_and_blame_the_pipeline():
    run = run_failure_alert("abcdef0123456789", "pipeline", ["raw__events: disk full"], base_url="http://d:3000")
    assert run.message.splitlines()[0] == "🔴 [CRITICAL] Run abcdef01 of job pipeline failed"
    assert run.link == "http://d:3000/runs/abcdef0123456789" and run.likely_cause == "pipeline"
    assert run.alert_id == run_failure_alert("abcdef0123456789", "pipeline", []).alert_id
    check = check_failure_alert("r1", ["marts", "metrics_daily"], "not_null_date", base_url="http://d:3000")
    assert check.link == "http://d:3000/assets/marts/metrics_daily?view=checks&checkDetail=not_null_date"
    assert "Blocking check failed: not_null_date on marts/metrics_daily" in check.message
