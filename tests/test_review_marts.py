"""Issue 17, marts.campaign_review from hand-made marts in a real DuckDB file: the scope's slice against
the rest of the company, worked by hand, and a campaign without the history a counterfactual needs."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from ops_pipeline.review.marts import campaign_review

FIRST = date(2026, 3, 1)
START = FIRST + timedelta(days=28)  # 28 days of history, then a 7-day campaign on channel c


def warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("create schema marts; create schema staging; create schema intermediate")
    conn.execute(
        "create table marts.metrics_daily (date date, metric varchar, dimension varchar, dimension_value varchar, "
        "value double, numerator double, denominator double)"
    )
    for day in range(42):
        on = 28 <= day < 35
        scope, rest = (30.0 if on else 20.0), 80.0
        conn.execute(
            "insert into marts.metrics_daily values (?, 'paid_orders', 'all', 'all', ?, null, null), "
            "(?, 'paid_orders', 'channel', 'c', ?, null, null), (?, 'paid_orders', 'channel', 'd', ?, null, null)",
            [FIRST + timedelta(days=day), scope + rest, FIRST + timedelta(days=day), scope,
             FIRST + timedelta(days=day), rest],
        )  # fmt: skip
    conn.execute(
        "create table staging.stg_planning__campaigns as select * from (values "
        "('c1', '满减', 'promotion', ?::date, ?::date, 1000.0, 'paid_orders', 280.0, 'c', null, null), "
        "('c2', '新品', 'launch', ?::date, ?::date, null, null, null, null, null, null)) "
        "as t (campaign_id, name, campaign_type, start_date, end_date, cost, target_metric, target_value, "
        "channels, platforms, regions)",
        [START, START + timedelta(days=6), FIRST + timedelta(days=3), FIRST + timedelta(days=9)],
    )
    conn.execute(
        "create table intermediate.int_events_stitched as select * from (values "
        "('p1', 'c1', ?::date), ('p2', 'c1', ?::date), ('p1', 'c1', ?::date), ('p3', 'c1', ?::date)) "
        "as t (person_id, campaign_id, event_date)",
        [START, START + timedelta(days=1), START + timedelta(days=2), START - timedelta(days=1)],
    )
    return conn


def test_a_scoped_campaign_against_the_rest_of_the_company_by_hand(tmp_path):
    conn = warehouse(tmp_path)
    review = campaign_review(conn, FIRST + timedelta(days=41))
    row = review[(review.campaign_id == "c1") & (review.metric == "paid_orders")].iloc[0]
    # k = 20 x 28 / (80 x 28) = 0.25; expected = 0.25 x 80 x 7 = 140; actual = 30 x 7 = 210
    assert (row.method, row.scope, row.days) == ("scoped_ratio", "channel=c", 7)
    assert (row.actual, row.expected, row.uplift, row.uplift_pct) == pytest.approx((210, 140, 70, 0.5))
    # the pre-period's log-ratio never moves: the interval is the point, and it excludes 0
    assert (row.uplift_low, row.uplift_high) == pytest.approx((70, 70)) and row.significant
    assert row.target_value == 280 and row.attainment == pytest.approx(210 / 280)
    assert pd.isna(row.incremental_roi)  # ROI is on the paid_gmv row
    # the 7 days after: back to 20 a day against the same k: no change
    assert row.post_uplift == pytest.approx(0) and row.post_change_pct == pytest.approx(0)
    assert row.participants == 2  # p1 and p2 during the campaign; p3 came the day before
    assert pd.isna(row.note)


def test_a_campaign_without_28_days_of_history_has_its_actual_and_says_why(tmp_path):
    conn = warehouse(tmp_path)
    review = campaign_review(conn, FIRST + timedelta(days=41))
    rows = review[review.campaign_id == "c2"]
    assert not rows.empty and rows.expected.isna().all() and rows.method.isna().all()
    orders = rows[rows.metric == "paid_orders"].iloc[0]
    assert orders.actual == 7 * 100 and orders.note.startswith("no counterfactual: ")
