"""Issue 17, the review's alerts on hand-made marts in a real DuckDB file: a target behind is announced
once per streak, a sample-ratio mismatch once per experiment, a campaign whose dip erases its uplift
once; the outbox keeps each one once."""

from __future__ import annotations

from datetime import date

import duckdb

from ops_pipeline.alerts.announcements import enqueue
from ops_pipeline.alerts.review import review_alerts

URL = "http://dagster.test"


def warehouse(tmp_path, statuses: list[str]):
    path = tmp_path / "w.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("create schema marts; create schema staging")
    conn.execute(
        "create table marts.target_progress (date date, period_start date, period_end date, metric varchar, "
        "dimension varchar, dimension_value varchar, target double, actual_to_date double, "
        "attainment_to_date double, expected_share_to_date double, pace double, projected double, status varchar)"
    )
    for day, status in enumerate(statuses, start=1):
        pace = 0.8 if status == "behind" else 1.1
        conn.execute(
            "insert into marts.target_progress values (?, '2026-11-01', '2026-11-30', 'orders', 'all', 'all', "
            "1000, 10 * ?, 0.01 * ?, 0.0125 * ?, ?, 800, ?)",
            [date(2026, 11, day), day, day, day, pace, status],
        )
    conn.execute(
        "create table marts.experiment_results as select * from (values "
        "('x_srm', 'control', true, 'pay_conversion', 560, 1e-5, 'srm'), "
        "('x_srm', 'b', false, 'pay_conversion', 440, 1e-5, 'srm'), "
        "('x_ok', 'control', true, 'pay_conversion', 500, 0.9, 'control'), "
        "('x_ok', 'b', false, 'pay_conversion', 505, 0.9, 'no_difference')) "
        "as t (experiment_id, variant, is_control, metric, persons, srm_p_value, decision)"
    )
    conn.execute(
        "create table staging.stg_planning__campaigns as select * from (values "
        "('c_dip', 'paid_gmv'), ('c_kept', 'paid_gmv'), ('c_none', null)) as t (campaign_id, target_metric)"
    )
    conn.execute(
        "create table marts.campaign_review as select * from (values "
        "('c_dip', '双十一', 'paid_gmv', 5000.0, true, -6000.0, -0.2), "
        "('c_kept', '618', 'paid_gmv', 5000.0, true, -1000.0, -0.05), "
        "('c_none', '签到', 'paid_gmv', -3000.0, true, -9000.0, -0.3)) "
        "as t (campaign_id, name, metric, uplift, significant, post_uplift, post_change_pct)"
    )
    return path, conn


def test_each_review_alert_is_raised_for_its_case_only(tmp_path):
    path, conn = warehouse(tmp_path, ["ahead", "behind", "behind"])
    alerts = review_alerts(conn, URL)
    conn.close()
    labels = sorted(a.label for a in alerts)
    assert labels == [
        "Campaign 双十一: the dip after it erases its paid_gmv uplift",
        "Experiment x_srm: sample-ratio mismatch, no decision possible",
        "Target behind: orders for 2026-11-01..2026-11-30 at 80% of its pace",
    ]
    behind = next(a for a in alerts if a.label.startswith("Target"))
    assert "behind since 2026-11-02" in behind.cause_reasons
    assert behind.link == f"{URL}/assets/marts/target_progress"
    srm = next(a for a in alerts if "x_srm" in a.label)
    assert "persons per variant: b 440, control 560; chi-square p = 1e-05" in srm.message
    stored = enqueue(path, alerts, target=None)
    assert all(a.new for a in stored)
    assert not [a for a in enqueue(path, alerts, target=None) if a.new]  # announced once


def test_a_target_behind_again_after_catching_up_is_announced_again(tmp_path):
    _, conn = warehouse(tmp_path, ["behind", "behind"])
    [first] = [a for a in review_alerts(conn, URL) if a.label.startswith("Target")]
    conn.execute("insert into marts.target_progress select date + 1, * exclude (date) from marts.target_progress "
                 "where date = '2026-11-02'")  # fmt: skip
    conn.execute("update marts.target_progress set status = 'ahead', pace = 1.1 where date = '2026-11-03'")
    assert not [a for a in review_alerts(conn, URL) if a.label.startswith("Target")]  # ahead now: nothing
    conn.execute("insert into marts.target_progress select date + 1, * exclude (date) from marts.target_progress "
                 "where date = '2026-11-02'")  # fmt: skip
    [again] = [a for a in review_alerts(conn, URL) if a.label.startswith("Target")]
    still = review_alerts(conn, URL)
    conn.close()
    assert "behind since 2026-11-01" in first.cause_reasons and "behind since 2026-11-04" in again.cause_reasons
    assert again.alert_id != first.alert_id
    assert [a.alert_id for a in still if a.label.startswith("Target")] == [again.alert_id]
