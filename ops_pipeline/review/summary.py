"""One line per campaign, target, experiment and the churn model: what `ops-pipeline run` prints
under "Review" (and what a reader of the review marts would look at first)."""

from __future__ import annotations

import duckdb

from ops_pipeline.metrics.registry import format_number


def _exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    query = "select count(*) from duckdb_tables() where schema_name = 'marts' and table_name = ?"
    return conn.execute(query, [table]).fetchone()[0] > 0


def _campaigns(conn) -> list[str]:
    rows = conn.execute(
        """
        select review.campaign_id, review.scope, review.start_date, review.end_date, review.metric,
            review.uplift_pct, review.uplift_low / nullif(review.expected, 0),
            review.uplift_high / nullif(review.expected, 0), review.significant, review.post_change_pct
        from marts.campaign_review as review
        where review.metric = 'paid_gmv'
        order by review.start_date, review.campaign_id
        """
    ).fetchall()
    return [
        f"campaign {cid} ({scope}, {start}..{end}): {metric} {_pct(pct)} [{_pct(low)}, {_pct(high)}]"
        + (" significant" if significant else " not significant")
        + (f", 7 days after {_pct(post)}" if post is not None else "")
        for cid, scope, start, end, metric, pct, low, high, significant, post in rows
    ]


def _targets(conn) -> list[str]:
    rows = conn.execute(
        """
        select metric, dimension, dimension_value, period_start, period_end, date, attainment_to_date, pace,
            projected, target, status
        from marts.target_progress
        qualify date = max(date) over (partition by period_start, period_end, metric, dimension, dimension_value)
        order by period_start, metric, dimension, dimension_value
        """
    ).fetchall()
    return [
        f"target {metric}{'' if dimension == 'all' else f' ({dimension}={value})'} {start}..{end}: "
        f"{attained:.0%} done by {day}, pace {pace:.0%}, projected {format_number(projected)} of "
        f"{format_number(target)}: {status}"
        for metric, dimension, value, start, end, day, attained, pace, projected, target, status in rows
    ]


def _experiments(conn) -> list[str]:
    rows = conn.execute(
        """
        select experiment_id, metric, string_agg(variant || ' ' || persons, ', ' order by is_control desc, variant),
            max(lift_rel) filter (where not is_control), min(p_value), any_value(decision order by is_control),
            any_value(excluded_persons)
        from marts.experiment_results where decision is not null
        group by experiment_id, metric order by experiment_id
        """
    ).fetchall()
    return [
        f"experiment {eid} ({metric}; {persons}; {excluded} excluded): {decision}"
        + (f", lift {_pct(lift)} (p {p:.3g})" if lift is not None and p is not None else "")
        for eid, metric, persons, lift, p, decision, excluded in rows
    ]


def _churn(conn) -> list[str]:
    users, high, medium = conn.execute(
        "select count(*), count(*) filter (where risk = 'high'), count(*) filter (where risk = 'medium') "
        "from marts.churn_risk"
    ).fetchone()
    return [f"churn risk of {users:,} paying users (BG/NBD): {high:,} high, {medium:,} medium"] if users else []


def review_lines(conn: duckdb.DuckDBPyConnection) -> list[str]:
    parts = {"campaign_review": _campaigns, "target_progress": _targets, "experiment_results": _experiments,
             "churn_risk": _churn}  # fmt: skip
    return [line for table, lines in parts.items() if _exists(conn, table) for line in lines(conn)]


def _pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:+.1%}"
