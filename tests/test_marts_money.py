"""Money and acquisition marts on a tiny hand-written warehouse.

Three landing days (2026-11-01..03, Asia/Shanghai business dates) of orders,
users, spend, KOL posts and events are inserted into a scratch DuckDB file
with the real raw DDL (ensure_raw_schema), the marts are built with a real
`dbt build` (their unit and data tests included), and every expected value
below is computed by hand from these rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ops_pipeline.warehouse import connect, ensure_raw_schema

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
MARTS = "+revenue_daily +channel_daily +kol_shortlist +rfm_segments +kpi_daily +metrics_daily"
SHORTLIST_BUDGET = 20000
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def _order(
    order_id,
    user_id,
    created,
    updated,
    status,
    amount,
    *,
    paid=None,
    refunded=None,
    refund=None,
    channel=None,
    campaign=None,
    platform=None,
    region=None,
):
    return dict(
        order_id=order_id,
        user_id=user_id,
        created_at=created,
        updated_at=updated,
        status=status,
        amount=amount,
        paid_at=paid,
        refunded_at=refunded,
        refund_amount=refund,
        channel=channel,
        campaign_id=campaign,
        platform=platform,
        region=region,
    )


def _event(event_id, time, name, device, platform, user=None, channel=None, region=None, order=None):
    return dict(
        event_id=event_id,
        event_time=time,
        event_name=name,
        device_id=device,
        user_id=user,
        platform=platform,
        channel=channel,
        region=region,
        order_id=order,
    )


def _post(post_id, kol_id, published, followers, views, likes, comments, shares, fee, campaign, audience_match):
    return dict(
        post_id=post_id,
        kol_id=kol_id,
        kol_name=kol_id.upper(),
        platform="douyin",
        followers=followers,
        published_at=published,
        views=views,
        likes=likes,
        comments=comments,
        shares=shares,
        fee=fee,
        campaign_id=campaign,
        audience_match=audience_match,
    )


DOUYIN = dict(channel="douyin_ads", campaign="c1", region="广东")
BAIDU = dict(channel="baidu_sem", campaign="c2", region="北京")

LANDINGS = {
    "2026-11-01": {
        "orders": [
            _order(
                "o1",
                "u1",
                "2026-11-01 02:00:00+00",
                "2026-11-01 02:04:00+00",
                "paid",
                100.0,
                paid="2026-11-01 02:04:00+00",
                platform="ios",
                **DOUYIN,
            ),
            _order(
                "o2",
                "u1",
                "2026-11-01 03:00:00+00",
                "2026-11-01 03:00:00+00",
                "created",
                50.0,
                platform="ios",
                **DOUYIN,
            ),
            # created 18:00 in Shanghai on Nov 1, paid at 01:00 on Nov 2 (next row)
            _order(
                "o3",
                "u2",
                "2026-11-01 10:00:00+00",
                "2026-11-01 10:00:00+00",
                "created",
                200.0,
                platform="web",
                **BAIDU,
            ),
        ],
        "users": [
            dict(user_id="u1", registered_at="2026-11-01 01:00:00+00", channel="douyin_ads", campaign_id="c1"),
            dict(user_id="u2", registered_at="2026-11-01 01:30:00+00", channel="baidu_sem", campaign_id="c2"),
        ],
        "channel_spend": [
            dict(date="2026-11-01", channel="douyin_ads", campaign_id="c1", impressions=10000, clicks=200, spend=500.0),
            dict(date="2026-11-01", channel="baidu_sem", campaign_id="c2", impressions=4000, clicks=100, spend=300.0),
        ],
        "events": [
            _event("e1", "2026-11-01 02:00:00+00", "app_open", "d1", "ios", "u1", "douyin_ads", "广东"),
            _event("e2", "2026-11-01 02:01:00+00", "product_view", "d1", "ios", "u1"),
            _event("e3", "2026-11-01 02:02:00+00", "add_to_cart", "d1", "ios", "u1"),
            _event("e4", "2026-11-01 02:03:00+00", "order_submit", "d1", "ios", "u1", order="o1"),
            _event("e5", "2026-11-01 02:04:00+00", "pay_success", "d1", "ios", "u1", order="o1"),
            _event("e6", "2026-11-01 03:00:00+00", "page_view", "d2", "web", None, "baidu_sem", "北京"),
        ],
    },
    "2026-11-02": {
        "orders": [
            _order(
                "o3",
                "u2",
                "2026-11-01 10:00:00+00",
                "2026-11-01 17:00:00+00",
                "paid",
                200.0,
                paid="2026-11-01 17:00:00+00",
                platform="web",
                **BAIDU,
            ),
            _order(
                "o4",
                "u3",
                "2026-11-02 02:00:00+00",
                "2026-11-02 02:01:00+00",
                "paid",
                80.0,
                paid="2026-11-02 02:01:00+00",
                platform="android",
            ),
            _order(
                "o5",
                "u1",
                "2026-11-02 03:00:00+00",
                "2026-11-02 03:01:00+00",
                "paid",
                60.0,
                paid="2026-11-02 03:01:00+00",
                platform="web",
                channel="douyin_ads",
                campaign="c9",
                region="广东",
            ),
            _order(
                "o7",
                "u2",
                "2026-11-02 04:00:00+00",
                "2026-11-02 04:01:00+00",
                "paid",
                20.0,
                paid="2026-11-02 04:01:00+00",
                platform="ios",
                **BAIDU,
            ),
        ],
        "users": [dict(user_id="u3", registered_at="2026-11-02 01:00:00+00")],
        "channel_spend": [
            dict(date="2026-11-02", channel="douyin_ads", campaign_id="c1", impressions=8000, clicks=0, spend=400.0),
        ],
        "events": [
            _event("e7", "2026-11-02 02:00:00+00", "page_view", "d3", "web", "u2", "baidu_sem"),
            _event("e8", "2026-11-02 02:05:00+00", "pay_success", "d3", "web", "u2", order="o3"),
            _event("e9", "2026-11-02 02:00:00+00", "app_open", "d4", "android", "u3"),
            _event("e10", "2026-11-02 02:00:00+00", "page_view", "d5", "web", "u1"),
        ],
    },
    "2026-11-03": {
        "orders": [
            # o1 refunded on Nov 3: 40 of its 100
            _order(
                "o1",
                "u1",
                "2026-11-01 02:00:00+00",
                "2026-11-03 02:00:00+00",
                "refunded",
                100.0,
                paid="2026-11-01 02:04:00+00",
                refunded="2026-11-03 02:00:00+00",
                refund=40.0,
                platform="ios",
                **DOUYIN,
            ),
            _order(
                "o6",
                "u4",
                "2026-11-03 02:00:00+00",
                "2026-11-03 02:04:00+00",
                "paid",
                300.0,
                paid="2026-11-03 02:04:00+00",
                channel="xiaohongshu",
                campaign="k1",
                platform="ios",
                region="上海",
            ),
        ],
        "users": [
            dict(user_id="u4", registered_at="2026-11-03 01:00:00+00", channel="xiaohongshu", campaign_id="k1"),
            dict(user_id="u5", registered_at="2026-11-03 01:00:00+00", channel="xiaohongshu", campaign_id="k2"),
        ],
        "kol_posts": [
            # kA: pA0 is older than the 90-day window and left out
            _post("pA0", "kA", "2026-07-01 02:00:00+00", 90000, 999999, 0, 0, 0, 99999.0, "k0", 0.0),
            _post("pA1", "kA", "2026-10-20 02:00:00+00", 100000, 10000, 500, 300, 200, 10000.0, "k1", 0.5),
            _post("pA2", "kA", "2026-10-25 02:00:00+00", 110000, 30000, 1500, 300, 200, 20000.0, "k1b", 0.9),
            _post("pB1", "kB", "2026-10-28 02:00:00+00", 50000, 20000, 2000, 500, 500, 5000.0, "k2", None),
            _post("pC1", "kC", "2026-11-01 02:00:00+00", 200000, 5000, 80, 10, 10, 1000.0, "k3", 0.2),
        ],
        "events": [
            _event("e11", "2026-11-03 02:00:00+00", "app_open", "d6", "ios", "u4", "xiaohongshu", "上海"),
            _event("e12", "2026-11-03 02:01:00+00", "product_view", "d6", "ios", "u4"),
            _event("e13", "2026-11-03 02:02:00+00", "add_to_cart", "d6", "ios", "u4"),
            _event("e14", "2026-11-03 02:03:00+00", "order_submit", "d6", "ios", "u4", order="o6"),
            _event("e15", "2026-11-03 02:04:00+00", "pay_success", "d6", "ios", "u4", order="o6"),
        ],
    },
}


def _land(warehouse: Path) -> None:
    conn = connect(warehouse)
    ensure_raw_schema(conn)
    for landing_day, tables in LANDINGS.items():
        for table, rows in tables.items():
            for row_number, row in enumerate(rows, start=1):
                columns = [*row, "_landing_date", "_file", "_row_number"]
                values = [*row.values(), date.fromisoformat(landing_day), f"{landing_day}.csv", row_number]
                quoted = ", ".join(f'"{c}"' for c in columns)
                placeholders = ", ".join("?" for _ in columns)
                conn.execute(f"insert into raw.{table} ({quoted}) values ({placeholders})", values)
    conn.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("dbt_marts_money")
    path = tmp_path / "warehouse.duckdb"
    _land(path)
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt if dbt.exists() else shutil.which("dbt")),
        "build",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
        "--select",
        MARTS,
        "--vars",
        f'{{"shortlist_budget": {SHORTLIST_BUDGET}}}',
    ]
    result = subprocess.run(
        command, env={**os.environ, "OPS_WAREHOUSE": str(path)}, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return path


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    conn = connect(warehouse, read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_revenue_daily_counts_each_measure_on_its_own_day(warehouse):
    rows = _rows(
        warehouse,
        """
        select date, channel, platform, region, orders, gmv, paid_orders, paid_gmv, refund_amount,
               net_revenue, paying_users
        from marts.revenue_daily order by date, channel, platform, region
    """,
    )
    assert rows == [
        (D1, "baidu_sem", "web", "北京", 1, 200.0, 0, 0.0, 0.0, 0.0, 0),
        (D1, "douyin_ads", "ios", "广东", 2, 150.0, 1, 100.0, 0.0, 100.0, 1),
        (D2, "(none)", "android", "(none)", 1, 80.0, 1, 80.0, 0.0, 80.0, 1),
        (D2, "baidu_sem", "ios", "北京", 1, 20.0, 1, 20.0, 0.0, 20.0, 1),
        (D2, "baidu_sem", "web", "北京", 0, 0.0, 1, 200.0, 0.0, 200.0, 1),  # paid after Shanghai midnight
        (D2, "douyin_ads", "web", "广东", 1, 60.0, 1, 60.0, 0.0, 60.0, 1),
        (D3, "douyin_ads", "ios", "广东", 0, 0.0, 0, 0.0, 40.0, -40.0, 0),  # o1's refund, on its own day
        (D3, "xiaohongshu", "ios", "上海", 1, 300.0, 1, 300.0, 0.0, 300.0, 1),
    ]


def test_channel_daily_ratios_and_outer_join(warehouse):
    rows = {
        (r[0], r[1], r[2]): r[3:]
        for r in _rows(
            warehouse,
            """
            select date, channel, campaign_id, impressions, clicks, spend, ctr, cpc, cpm, new_users, cac,
                   paid_orders, paid_gmv, roas
            from marts.channel_daily
        """,
        )
    }
    assert rows[(D1, "douyin_ads", "c1")] == (10000, 200, 500.0, 0.02, 2.5, 50.0, 1, 500.0, 1, 100.0, 0.2)
    assert rows[(D1, "baidu_sem", "c2")] == (4000, 100, 300.0, 0.025, 3.0, 75.0, 1, 300.0, 0, 0.0, 0.0)
    # no clicks: cpc NULL; no new users: cac NULL
    assert rows[(D2, "douyin_ads", "c1")] == (8000, 0, 400.0, 0.0, None, 50.0, 0, None, 0, 0.0, 0.0)
    # orders without a spend row still show, with NULL roas
    assert rows[(D2, "baidu_sem", "c2")] == (0, 0, 0.0, None, None, None, 0, None, 2, 220.0, None)
    assert rows[(D2, "douyin_ads", "c9")] == (0, 0, 0.0, None, None, None, 0, None, 1, 60.0, None)
    assert rows[(D2, "(none)", "(none)")] == (0, 0, 0.0, None, None, None, 1, 0.0, 1, 80.0, None)
    assert rows[(D3, "xiaohongshu", "k1")][6:] == (1, 0.0, 1, 300.0, None)
    assert rows[(D3, "xiaohongshu", "k2")][6:] == (1, 0.0, 0, 0.0, None)
    assert len(rows) == 8


def test_kol_scorecard_by_hand(warehouse):
    rows = {
        r[0]: r[1:]
        for r in _rows(
            warehouse,
            """
            select kol_id, posts, followers, views, engagements, fee, engagement_rate, view_rate, cpm, cpe,
                   attributed_users, attributed_paid_gmv, attributed_paying_users, conversion_rate, roi,
                   audience_match, score, tier
            from marts.kol_scorecard
        """,
        )
    }
    assert set(rows) == {"kA", "kB", "kC"}
    # kA: 2 window posts (pA0 is out); followers of the latest post; views-weighted audience match
    posts, followers, views, engagements, fee, er, vr, cpm, cpe, users, gmv, payers, cr, roi, am, score, tier = rows[
        "kA"
    ]
    assert (posts, followers, views, engagements, fee) == (2, 110000, 40000, 3000, 30000.0)
    assert (er, cpm, cpe, users, gmv, payers, roi) == (0.075, 750.0, 10.0, 1, 300.0, 1, 0.01)
    assert vr == pytest.approx(40000 / 110000)
    assert cr == pytest.approx(1 / 40000)
    assert am == pytest.approx((10000 * 0.5 + 30000 * 0.9) / 40000)
    # percentile ranks among 3 KOLs (0, 50, 100); ties share the lower rank:
    #            engagement  view  conversion  roi  audience
    #   kA            50       50      100      100    100 (of 2)
    #   kB           100      100        0        0    --
    #   kC             0        0        0        0     0 (of 2)
    assert score == pytest.approx(0.20 * 50 + 0.15 * 50 + 0.25 * 100 + 0.25 * 100 + 0.15 * 100)  # 82.5
    assert tier == "A"
    # kB has no audience_match: the other weights are re-normalised over 0.85
    assert rows["kB"][-2] == pytest.approx((0.20 * 100 + 0.15 * 100) / 0.85)  # 41.18
    assert rows["kB"][-1] == "C"
    assert rows["kB"][9] == 1  # u5 registered with kB's tracking code
    assert rows["kC"][-2:] == (0.0, "C")


def test_kol_shortlist_stops_at_budget(warehouse):
    rows = _rows(
        warehouse,
        """
        select pick_rank, kol_id, expected_cost, expected_attributed_gmv, cumulative_cost,
               cumulative_attributed_gmv, cumulative_roi, budget_remaining
        from marts.kol_shortlist order by pick_rank
    """,
    )
    # score per yuan of average fee per post: kB 41.18 / 5000, kA 82.5 / 15000, kC 0 / 1000;
    # kB + kA cost exactly the budget of 20000, kC would exceed it
    assert rows == [
        (1, "kB", 5000.0, 0.0, 5000.0, 0.0, 0.0, 15000.0),
        (2, "kA", 15000.0, 150.0, 20000.0, 150.0, 150.0 / 20000, 0.0),
    ]


def test_rfm_segments_net_of_refunds(warehouse):
    rows = _rows(
        warehouse,
        """
        select user_id, as_of_date, recency_days, frequency, monetary, r_score, f_score, m_score, segment
        from marts.rfm_segments order by user_id
    """,
    )
    assert rows == [
        ("u1", D3, 1, 2, 120.0, 1, 3, 2, "at_risk"),  # 100 + 60 paid, 40 refunded
        ("u2", D3, 1, 2, 220.0, 2, 4, 3, "loyal"),
        ("u3", D3, 1, 1, 80.0, 3, 1, 1, "regular"),
        ("u4", D3, 0, 1, 300.0, 4, 2, 4, "potential"),
    ]


def test_kpi_daily_totals_by_hand(warehouse):
    rows = _rows(
        warehouse,
        """
        select date, dau, new_users, orders, gmv, paid_orders, paid_gmv, refund_amount, net_revenue,
               paying_users, pay_rate, arpu, arppu, aov, repurchase_rate_30d,
               funnel_entrants, funnel_completers, visit_to_pay_rate
        from marts.kpi_daily order by date
    """,
    )
    assert rows == [
        (D1, 2, 2, 3, 350.0, 1, 100.0, 0.0, 100.0, 1, 0.5, 50.0, 100.0, 100.0, 0.0, 2, 1, 0.5),
        # u2 pays on web and on ios: 3 paying users, while revenue_daily's slices hold 4
        (D2, 3, 1, 3, 160.0, 4, 360.0, 0.0, 360.0, 3, 1.0, 120.0, 120.0, 90.0, 2 / 3, 3, 0, 0.0),
        (D3, 1, 2, 1, 300.0, 1, 300.0, 40.0, 260.0, 1, 1.0, 300.0, 300.0, 300.0, 0.5, 1, 1, 1.0),
    ]


def test_metrics_daily_rows(warehouse):
    rows = {
        (r[0], r[1], r[2], r[3]): r[4:]
        for r in _rows(
            warehouse,
            """
            select date, metric, dimension, dimension_value, value, numerator, denominator
            from marts.metrics_daily
        """,
        )
    }
    assert {key[0] for key in rows} == {D1, D2, D3}
    assert rows[(D2, "paying_users", "all", "all")] == (3.0, None, None)
    assert rows[(D2, "paying_users", "platform", "web")] == (2.0, None, None)
    assert rows[(D2, "paying_users", "channel", "baidu_sem")] == (1.0, None, None)
    assert rows[(D2, "pay_rate", "all", "all")] == (1.0, 3.0, 3.0)
    assert rows[(D2, "pay_rate", "platform", "web")] == (1.0, 2.0, 2.0)
    assert rows[(D2, "dau", "platform", "web")] == (2.0, None, None)
    assert rows[(D3, "net_revenue", "all", "all")] == (260.0, None, None)
    assert rows[(D3, "refund_amount", "channel", "douyin_ads")] == (40.0, None, None)
    assert rows[(D1, "roas", "channel", "douyin_ads")] == (0.2, 100.0, 500.0)
    assert rows[(D1, "cac", "channel", "baidu_sem")] == (300.0, 300.0, 1.0)
    assert rows[(D2, "roas", "channel", "baidu_sem")] == (None, 220.0, 0.0)
    assert rows[(D1, "ctr", "all", "all")] == (300 / 14000, 300.0, 14000.0)
    assert rows[(D1, "funnel_product_view_conversion", "all", "all")] == (0.5, 1.0, 2.0)
    assert rows[(D1, "funnel_pay_success_conversion", "platform", "ios")] == (1.0, 1.0, 1.0)
    assert rows[(D1, "visit_to_pay", "all", "all")] == (0.5, 1.0, 2.0)
    assert rows[(D1, "visit_to_pay", "channel", "baidu_sem")] == (0.0, 0.0, 1.0)
    assert rows[(D1, "events", "platform", "ios")] == (5.0, None, None)
    assert rows[(D2, "events", "event_name", "page_view")] == (2.0, None, None)
    # tracked pay_success events / backend paid orders
    assert rows[(D2, "tracking_completeness", "all", "all")] == (0.25, 1.0, 4.0)
    assert rows[(D2, "tracking_completeness", "platform", "web")] == (0.5, 1.0, 2.0)
    assert rows[(D2, "tracking_completeness", "platform", "android")] == (0.0, 0.0, 1.0)
    assert rows[(D3, "tracking_completeness", "all", "all")] == (1.0, 1.0, 1.0)
