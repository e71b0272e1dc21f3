"""The review's alerts, raised after each build of the review marts (docs/review.md):

* a target whose status is `behind` on the last complete date: once per target and status change
  (the id carries the date its current streak of `behind` began, so falling behind again later is
  announced again, staying behind is not);
* an experiment whose persons per variant do not match its planned weights (decision `srm`): once
  per experiment, as no decision should be taken on it;
* a campaign whose post-campaign dip erases its uplift: once per campaign.

They are `review` alerts of the existing outbox, delivered like every other announcement.
"""

from __future__ import annotations

import duckdb

from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.message import asset_url, render
from ops_pipeline.alerts.outbox import REVIEW, Alert
from ops_pipeline.metrics.registry import format_number


def _alert(key: tuple, label: str, reasons: list[str], table: str, base_url: str, **fields) -> Alert:
    return render(
        Alert(
            alert_id=outbox.alert_id(REVIEW, *key),
            kind=REVIEW,
            monitor=f"review:{key[0]}",
            label=label,
            likely_cause="business",
            cause_reasons=reasons,
            link=asset_url(base_url, ["marts", table]),
            **fields,
        )
    )


def _targets_behind(conn: duckdb.DuckDBPyConnection, base_url: str) -> list[Alert]:
    rows = conn.execute(
        """
        with ordered as (
            select *,
                max(date) over (partition by period_start, period_end, metric, dimension, dimension_value) as last_date,
                max(case when status <> 'behind' then date end) over (
                    partition by period_start, period_end, metric, dimension, dimension_value order by date
                ) as last_not_behind
            from marts.target_progress
        )
        select period_start, period_end, metric, dimension, dimension_value, target, date, actual_to_date,
            attainment_to_date, expected_share_to_date, pace, projected,
            coalesce(last_not_behind + 1, period_start) as behind_since
        from ordered where date = last_date and status = 'behind'
        order by metric, dimension, dimension_value
        """
    ).fetchall()
    alerts = []
    for start, end, metric, dimension, value, target, day, actual, attained, share, pace, projected, since in rows:
        where = "" if dimension == "all" else f" ({dimension}={value})"
        alerts.append(
            _alert(
                ("target", start, end, metric, dimension, value, since),
                f"Target behind: {metric}{where} for {start}..{end} at {pace:.0%} of its pace",
                [
                    f"{format_number(actual)} to {day}: {attained:.0%} of the target {format_number(target)}, "
                    f"while {share:.0%} of the period's volume was due by then",
                    f"projected for the period: {format_number(projected)} ({projected / target:.0%} of the target)",
                    f"behind since {since}",
                ],
                "target_progress",
                base_url,
                metric=metric,
                date=day,
                dimension=dimension,
                dimension_value=value,
                value=actual,
                expected=target,
            )
        )
    return alerts


def _sample_ratio_mismatches(conn: duckdb.DuckDBPyConnection, base_url: str) -> list[Alert]:
    rows = conn.execute(
        """
        select experiment_id, any_value(srm_p_value), string_agg(variant || ' ' || persons, ', ' order by variant)
        from marts.experiment_results
        where decision = 'srm'
        group by experiment_id order by experiment_id
        """
    ).fetchall()
    return [
        _alert(
            ("srm", experiment_id),
            f"Experiment {experiment_id}: sample-ratio mismatch, no decision possible",
            [
                f"persons per variant: {persons}; chi-square p = {p_value:.2g} against the planned weights",
                "the assignment or the exposure tracking is broken: fix it before reading any result",
            ],
            "experiment_results",
            base_url,
        )
        for experiment_id, p_value, persons in rows
    ]


def _campaign_dips(conn: duckdb.DuckDBPyConnection, base_url: str) -> list[Alert]:
    rows = conn.execute(
        """
        select review.campaign_id, review.name, review.metric, review.uplift, review.post_uplift,
            review.post_change_pct
        from marts.campaign_review as review
        inner join staging.stg_planning__campaigns as campaigns using (campaign_id)
        where review.metric = coalesce(campaigns.target_metric, 'paid_gmv')
            and review.significant and review.uplift > 0
            and review.post_uplift is not null and review.uplift + review.post_uplift <= 0
        order by review.campaign_id
        """
    ).fetchall()
    return [
        _alert(
            ("campaign_dip", campaign_id),
            f"Campaign {name}: the dip after it erases its {metric} uplift",
            [
                f"uplift during the campaign {format_number(uplift)}, change in the 7 days after "
                f"{format_number(post)} ({post_pct:+.0%} against their baseline)",
                "the campaign pulled demand forward rather than adding to it",
            ],
            "campaign_review",
            base_url,
            metric=metric,
        )
        for campaign_id, name, metric, uplift, post, post_pct in rows
    ]


def review_alerts(conn: duckdb.DuckDBPyConnection, base_url: str) -> list[Alert]:
    """Every review alert the marts call for now; the outbox keeps each one once."""
    return [
        *_targets_behind(conn, base_url),
        *_sample_ratio_mismatches(conn, base_url),
        *_campaign_dips(conn, base_url),
    ]
