"""Section 7, 活动与实验 Campaigns and experiments of the week."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ops_pipeline.weekly.measures import (
    table_exists,
)
from ops_pipeline.weekly.weeks import Week


@dataclass
class CampaignLine:
    campaign_id: str
    name: str
    scope: str
    period: str
    status: str  # ran (still running at the week's end) or ended
    target_metric: str | None
    attainment: float | None
    uplift_pct: float | None
    significant: bool | None
    incremental_roi: float | None
    cost: float | None


@dataclass
class ExperimentLine:
    experiment_id: str
    name: str
    metric: str
    variant: str
    lift_rel: float | None
    p_value: float | None
    decision: str


@dataclass
class Campaigns:
    campaigns: list[CampaignLine]
    experiments: list[ExperimentLine]


def campaigns(conn: duckdb.DuckDBPyConnection, week: Week) -> Campaigns:
    found: list[CampaignLine] = []
    if table_exists(conn, "campaign_review"):
        rows = conn.execute(
            """
            select
                campaign_id,
                any_value(name),
                any_value(scope),
                any_value(start_date),
                any_value(end_date),
                any_value(metric) filter (where target_value is not null),
                any_value(attainment) filter (where target_value is not null),
                any_value(uplift_pct) filter (where metric = 'paid_gmv'),
                any_value(significant) filter (where metric = 'paid_gmv'),
                any_value(incremental_roi) filter (where metric = 'paid_gmv'),
                any_value(cost)
            from marts.campaign_review
            where start_date <= $end and end_date >= $start
            group by campaign_id
            order by any_value(start_date), campaign_id
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        for cid, name, scope, start, end, metric, attainment, uplift, significant, roi, cost in rows:
            status = "ended 已结束" if end <= week.end else "running 进行中"
            found.append(
                CampaignLine(
                    cid, name, scope, f"{start} .. {end}", status, metric, attainment, uplift, significant, roi, cost
                )
            )
    experiments: list[ExperimentLine] = []
    if table_exists(conn, "experiment_results"):
        rows = conn.execute(
            """
            select results.experiment_id, plan.name, results.metric, results.variant, results.lift_rel,
                results.p_value, results.decision
            from marts.experiment_results as results
            inner join staging.stg_planning__experiments as plan on results.experiment_id = plan.experiment_id
            where results.decision is not null and not results.is_control
              and cast(plan.start_at as date) <= $end and cast(plan.end_at as date) >= $start
            order by results.experiment_id, results.variant
            """,
            {"start": week.start, "end": week.end},
        ).fetchall()
        experiments = [ExperimentLine(*row) for row in rows]
    return Campaigns(found, experiments)
