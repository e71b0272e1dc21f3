"""The review marts computed in Python: marts.campaign_review, experiment_results, churn_risk and
churn_model (docs/review.md). Each reads small inputs the dbt models prepared (DuckDB does the
heavy lifting), computes with the pure module beside this one, and replaces its table."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import yaml

from ops_pipeline.contract import CAMPAIGN_SCOPES
from ops_pipeline.metrics.registry import load_registry
from ops_pipeline.review import campaigns as cf
from ops_pipeline.review import churn, experiments
from ops_pipeline.settings import DBT_PROJECT_DIR

CAMPAIGN_METRICS = ("dau", "new_users", "paid_orders", "paid_gmv", "pay_rate")
POST_DAYS = 7


def last_complete_date(conn: duckdb.DuckDBPyConnection) -> date | None:
    return conn.execute("select max(date) from marts.kpi_daily").fetchone()[0]


# Columns, types and descriptions: the dbt sources file of the review marts, the one definition.
MARTS_FILE = DBT_PROJECT_DIR / "models" / "marts" / "review" / "_review__python_marts.yml"


def _tables() -> dict[str, str]:
    [source] = yaml.safe_load(MARTS_FILE.read_text(encoding="utf-8"))["sources"]
    return {
        table["name"]: ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in table["columns"])
        for table in source["tables"]
    }


TABLES = _tables()


def _write(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None, history: bool = False) -> int:
    """Replace marts.<table> with the frame's rows, in the declared columns and types. With `history`,
    keep the table and replace only the rows of the frame's as-of dates."""
    verb = "create table if not exists" if history else "create or replace table"
    conn.execute(f"{verb} marts.{table} ({TABLES[table]})")
    if frame is None or frame.empty:
        return 0
    if history:
        conn.execute(f"delete from marts.{table} where as_of_date in (select unnest(?))", [list(frame.as_of_date)])
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    conn.register("review_frame", frame)
    try:
        conn.execute(f"insert into marts.{table} ({columns}) select {columns} from review_frame")
    finally:
        conn.unregister("review_frame")
    return len(frame)


# ---------------------------------------------------------------- campaign_review


def _scope(campaign: pd.Series) -> tuple[str, list[str]] | None:
    for column, dimension in CAMPAIGN_SCOPES.items():
        if isinstance(campaign[column], str) and campaign[column].strip():
            return dimension, [v.strip() for v in campaign[column].split(",") if v.strip()]
    return None


def _series(conn, metrics: list[str], first: date, last: date, scope) -> pd.DataFrame:
    """Daily numerator and denominator of each metric, company and scope, zero-filled."""
    dimension, values = scope or ("all", ["all"])
    return conn.execute(
        """
        with days as (select unnest(generate_series(?::date, ?::date, interval 1 day))::date as date),
        wanted as (select unnest(?::varchar[]) as metric)
        select wanted.metric, days.date,
            coalesce(sum(coalesce(m.numerator, m.value)) filter (where m.dimension = 'all'), 0) as total_num,
            coalesce(sum(m.denominator) filter (where m.dimension = 'all'), 0) as total_den,
            coalesce(sum(coalesce(m.numerator, m.value)) filter (where m.dimension = ?), 0) as scope_num,
            coalesce(sum(m.denominator) filter (where m.dimension = ?), 0) as scope_den
        from days cross join wanted
        left join marts.metrics_daily as m
            on m.date = days.date and m.metric = wanted.metric
            and (m.dimension = 'all' or (m.dimension = ? and list_contains(?, m.dimension_value)))
        group by all order by wanted.metric, days.date
        """,
        [first, last, metrics, dimension, dimension, dimension, values],
    ).df()


def _estimate(frame: pd.DataFrame, ratio: bool, scoped: bool, window: slice) -> tuple[cf.Estimate | None, str | None]:
    """(estimate, None), or (None, why) when the history cannot carry a counterfactual (fewer than 28
    days of data before the start, a scope with nothing in it, ...): the row then has its actual only."""

    def series(num: pd.Series, den: pd.Series) -> cf.Series:
        return cf.Series(num.to_numpy(float), den.to_numpy(float) if ratio else None)

    total = series(frame.total_num, frame.total_den)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # empty days of a ratio: refused below
            if not scoped:
                return cf.companywide_estimate(total, window), None
            scope = series(frame.scope_num, frame.scope_den)
            rest = series(frame.total_num - frame.scope_num, frame.total_den - frame.scope_den)
            return cf.scoped_estimate(scope, rest, window), None
    except ValueError as error:
        return None, f"no counterfactual: {error}"


def _actual(frame: pd.DataFrame, ratio: bool, scoped: bool, window: slice) -> float | None:
    part = frame.iloc[cf.PRE_DAYS + window.start : cf.PRE_DAYS + window.stop]
    num, den = (part.scope_num, part.scope_den) if scoped else (part.total_num, part.total_den)
    if not ratio:
        return float(num.sum())
    return float(num.sum() / den.sum()) if den.sum() else None


def _estimate_columns(estimate: cf.Estimate | None) -> dict:
    if estimate is None:
        return dict.fromkeys(("method", "expected", "uplift", "uplift_pct", "uplift_low", "uplift_high", "significant"))
    return {
        "method": estimate.method,
        "expected": estimate.expected,
        "uplift": estimate.uplift,
        "uplift_pct": estimate.uplift_pct,
        "uplift_low": estimate.uplift_low,
        "uplift_high": estimate.uplift_high,
        "significant": estimate.significant,
    }


def campaign_review(conn: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    registry = load_registry()
    campaigns = conn.execute(
        "select * from staging.stg_planning__campaigns where start_date <= ? order by start_date, campaign_id", [as_of]
    ).df()
    rows = []
    for _, c in campaigns.iterrows():
        start, end = c.start_date.date(), min(c.end_date.date(), as_of)
        days = (end - start).days + 1
        post_end = c.end_date.date() + timedelta(days=POST_DAYS)
        scope = _scope(c)
        metrics = list(dict.fromkeys([m for m in (c.target_metric, *CAMPAIGN_METRICS) if isinstance(m, str)]))
        metrics = [m for m in metrics if scope is None or registry[m].can_slice_by(scope[0])]
        first = start - timedelta(days=cf.PRE_DAYS)
        data = _series(conn, metrics, first, min(post_end, as_of), scope)
        participants = conn.execute(
            "select count(distinct person_id) from intermediate.int_events_stitched "
            "where campaign_id = ? and event_date between ? and ?",
            [c.campaign_id, start, end],
        ).fetchone()[0]
        for metric in metrics:
            frame = data[data.metric == metric].reset_index(drop=True)
            ratio = registry[metric].kind == "ratio"
            estimate, note = _estimate(frame, ratio, scope is not None, slice(0, days))
            actual = _actual(frame, ratio, scope is not None, slice(0, days))
            post = None
            if post_end <= as_of and estimate is not None:
                after = (c.end_date.date() - start).days + 1
                post, _ = _estimate(frame, ratio, scope is not None, slice(after, after + POST_DAYS))
            uplift = None if estimate is None else estimate.uplift
            on_target = metric == c.target_metric
            rows.append(
                {
                    "campaign_id": c.campaign_id,
                    "name": c["name"],
                    "type": c.campaign_type,
                    "start_date": start,
                    "end_date": c.end_date.date(),
                    "days": days,
                    "scope": "all" if scope is None else f"{scope[0]}={','.join(scope[1])}",
                    "metric": metric,
                    "actual": actual,
                    **_estimate_columns(estimate),
                    "cost": c.cost,
                    "incremental_roi": uplift / c.cost
                    if metric == "paid_gmv" and c.cost and uplift is not None
                    else None,
                    "target_value": c.target_value if on_target else None,
                    "attainment": actual / c.target_value
                    if on_target and c.target_value and actual is not None
                    else None,
                    "post_uplift": None if post is None else post.uplift,
                    "post_change_pct": None if post is None else post.uplift_pct,
                    "participants": participants,
                    "note": note,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- experiment_results


def experiment_results(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    definitions = conn.execute("select * from staging.stg_planning__experiments order by experiment_id").df()
    persons = conn.execute(
        "select * from intermediate.int_experiment_persons_assigned order by experiment_id, person_id"
    ).df()
    frames = []
    for _, e in definitions.iterrows():
        mine = persons[persons.experiment_id == e.experiment_id]
        weights = tuple(float(w) for w in e.weights.split(",")) if isinstance(e.weights, str) and e.weights else None
        experiment = experiments.Experiment(
            e.experiment_id, tuple(v.strip() for v in e.variants.split(",")), weights, e.primary_metric
        )
        excluded = int((mine.variants_seen > 1).sum())
        frames.append(experiments.experiment_results(experiment, mine[mine.variants_seen == 1], excluded))
    return pd.concat(frames, ignore_index=True) if frames else None


# ---------------------------------------------------------------- churn_risk, churn_model


def churn_inputs(conn: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per paying user: BG/NBD inputs on paid-order business dates, with the RFM monetary and segment."""
    return conn.execute(
        """
        with paid_days as (
            select user_id, count(distinct paid_date) as order_days,
                min(paid_date) as first_paid, max(paid_date) as last_paid
            from staging.stg_backend__orders
            where paid_date <= ? and user_id is not null
            group by user_id
        )
        select rfm.user_id, paid_days.order_days - 1 as frequency,
            datediff('day', paid_days.first_paid, paid_days.last_paid) as recency,
            datediff('day', paid_days.first_paid, ?::date) as "T",
            rfm.monetary, rfm.segment
        from marts.rfm_segments as rfm
        inner join paid_days using (user_id)
        order by rfm.user_id
        """,
        [as_of, as_of],
    ).df()


def churn_risk(inputs: pd.DataFrame, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, t_x, big_t = (inputs[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    model = churn.fit_bgnbd(x, t_x, big_t)
    alive = churn.p_alive(model, x, t_x, big_t)
    risk = inputs.assign(
        as_of_date=as_of,
        p_alive=alive,
        expected_orders_30d=churn.expected_purchases(model, 30.0, x, t_x, big_t),
        risk=churn.risk_labels(alive, inputs.monetary.to_numpy(float)),
    )
    columns = ["user_id", "as_of_date", "frequency", "recency", "T", "p_alive", "expected_orders_30d", "monetary",
               "segment", "risk"]  # fmt: skip
    fit = pd.DataFrame(
        [{"as_of_date": as_of, "users": model.users, "r": model.r, "alpha": model.alpha, "a": model.a,
          "b": model.b, "log_likelihood": model.log_likelihood}]
    )  # fmt: skip
    return risk[columns], fit


def build_review(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Replace the review marts from the warehouse's current marts (churn_model keeps one row per
    as-of date); returns the rows written per table."""
    as_of = last_complete_date(conn)
    counts = {
        "campaign_review": _write(conn, "campaign_review", as_of and campaign_review(conn, as_of)),
        "experiment_results": _write(conn, "experiment_results", experiment_results(conn)),
    }
    inputs = churn_inputs(conn, as_of) if as_of else None
    risk, fit = churn_risk(inputs, as_of) if inputs is not None and len(inputs) else (None, None)
    counts["churn_risk"] = _write(conn, "churn_risk", risk)
    counts["churn_model"] = _write(conn, "churn_model", fit, history=True)  # the fits' history
    return counts
