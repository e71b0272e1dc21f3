"""The planning sources (campaigns, targets, experiments) and the effects they have, of known size.

`make_plan` lays out, from the end of the range backwards so every piece has its history:

* a company-wide check-in campaign with no effect (the placebo), 28 days of history before it;
* a campaign scoped to one paid channel, reusing one of its ad campaigns' tracking codes, under
  which that channel's sessions order twice as often for its 14 days (a big 满减 promotion);
* three experiments over the last two weeks: `v2` of a landing page lifts ordering by 50%
  (decision `better`); one declared 50/50 but assigned 56/44 (`srm`); one on the mini program for
  a handful of persons over three days (`insufficient`);
* targets for the month of the last day, set from what the month realises so that one is ahead
  (the sum of new users, at 80% of its pace) and one behind (orders, at 130% of it).

Persons are assigned to a variant by a hash of the person, the same on every session; a few (1%)
see a random variant each session, the conflicts the review excludes. Exposure is an
`experiment_exposure` event at the start of every session in the window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa

from ops_pipeline.contract import EVENT_PLATFORMS
from ops_pipeline.generator import names
from ops_pipeline.generator.clock import day_date
from ops_pipeline.generator.ids import mix48
from ops_pipeline.generator.world import World

PRE_DAYS, CAMPAIGN_DAYS, PROMOTION_DAYS, POST_DAYS = 28, 7, 14, 7
SCOPED_UPLIFT, EXPERIMENT_LIFT = 2.0, 1.5
CONFLICT_SHARE = 0.01
AHEAD, BEHIND = 0.8, 1.3  # target = pace of the month so far x this


@dataclass(frozen=True)
class PlannedCampaign:
    campaign_id: str
    name: str
    type: str
    start_day: int
    end_day: int  # inclusive
    channel: str | None  # the scope, None for company-wide
    uplift: float  # factor on the scope's ordering during the campaign
    budget: float
    target_metric: str


@dataclass(frozen=True)
class PlannedExperiment:
    experiment_id: str
    name: str
    start_day: int
    end_day: int  # inclusive
    variants: tuple[str, ...]
    declared: tuple[float, ...]  # the weights in the file
    assigned: tuple[float, ...]  # the shares persons really get
    lifts: tuple[float, ...]  # factor on ordering per variant
    platforms: tuple[str, ...]
    eligible_persons: int | None  # None: everybody; else about this many persons are eligible
    primary_metric: str


@dataclass(frozen=True)
class Plan:
    campaigns: tuple[PlannedCampaign, ...]
    experiments: tuple[PlannedExperiment, ...]

    @property
    def exposure_labels(self) -> list[str]:
        """The properties JSON of every (experiment, variant), in plan order."""
        return [
            json.dumps({"experiment_id": e.experiment_id, "variant": v}) for e in self.experiments for v in e.variants
        ]


def make_plan(world: World, days: int) -> Plan:
    campaigns = []
    end = days - 1
    scoped_start = end - POST_DAYS - PROMOTION_DAYS - 16  # its post window ends before the experiments start
    placebo_start = scoped_start - CAMPAIGN_DAYS - POST_DAYS - 1
    channel = names.PAID_CHANNELS[0]
    if placebo_start >= PRE_DAYS:
        campaigns.append(
            PlannedCampaign(
                "act_checkin_placebo",
                "签到打卡 daily check-in",
                "check_in",
                placebo_start,
                placebo_start + CAMPAIGN_DAYS - 1,
                None,
                1.0,
                20000.0,
                "dau",
            )
        )
    if scoped_start >= PRE_DAYS:
        code = world.catalogue.campaigns[world.catalogue.campaigns_of(channel)[0]].campaign_id
        campaigns.append(
            PlannedCampaign(
                code,
                f"{channel} 满减大促",
                "promotion",
                scoped_start,
                scoped_start + PROMOTION_DAYS - 1,
                channel,
                SCOPED_UPLIFT,
                50000.0,
                "paid_gmv",
            )
        )
    experiments = []
    if days >= 17:
        start, stop = end - 15, end - 2
        experiments = [
            PlannedExperiment("exp_landing_v2", "落地页改版 landing page v2", start, stop, ("control", "v2"),
                              (0.5, 0.5), (0.5, 0.5), (1.0, EXPERIMENT_LIFT), EVENT_PLATFORMS, None,
                              "order_conversion"),
            PlannedExperiment("exp_coupon_banner", "优惠券横幅 coupon banner", start, stop, ("control", "banner"),
                              (0.5, 0.5), (0.56, 0.44), (1.0, 1.0), EVENT_PLATFORMS, None, "pay_conversion"),
            PlannedExperiment("exp_mini_checkout", "小程序结算页 mini-program checkout", stop - 2, stop,
                              ("control", "one_step"), (0.5, 0.5), (0.5, 0.5), (1.0, 1.0), ("mini_program",), 3000,
                              "pay_conversion"),
        ]  # fmt: skip
    return Plan(tuple(campaigns), tuple(experiments))


def _unit(world: World, persons: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) per person, fixed for the world and the salt."""
    return mix48(persons * 64 + salt, world.seed, "plan").astype(np.float64) / float(1 << 48)


def _assignment(world: World, index: int, experiment: PlannedExperiment, persons: np.ndarray):
    """(eligible, variant, conflicted) of each person for one experiment."""
    eligible_share = 1.0 if experiment.eligible_persons is None else experiment.eligible_persons / world.people.size
    eligible = _unit(world, persons, 3 * index) < eligible_share
    variant = np.searchsorted(np.cumsum(experiment.assigned)[:-1], _unit(world, persons, 3 * index + 1), "right")
    conflicted = _unit(world, persons, 3 * index + 2) < CONFLICT_SHARE
    return eligible, variant, conflicted


def order_factors(plan: Plan, world: World, day: int, person: np.ndarray, order_channel: np.ndarray) -> np.ndarray:
    """Factor on each session's chance to order today: the campaigns' and the experiments' effects."""
    factor = np.ones(len(person))
    for campaign in plan.campaigns:
        if campaign.start_day <= day <= campaign.end_day and campaign.uplift != 1.0:
            scope = order_channel == names.CHANNELS.index(campaign.channel) if campaign.channel else True
            factor = np.where(scope, factor * campaign.uplift, factor)
    for index, experiment in enumerate(plan.experiments):
        if experiment.start_day <= day <= experiment.end_day and max(experiment.lifts) != 1.0:
            eligible, variant, conflicted = _assignment(world, index, experiment, person)
            lift = np.asarray(experiment.lifts)[variant]
            factor = np.where(eligible & ~conflicted, factor * lift, factor)
    return factor


def exposures(
    plan: Plan, world: World, day: int, person: np.ndarray, platform: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(session, label code) of today's exposure events: one per session and running experiment."""
    sessions, codes, base = [], [], 0
    for index, experiment in enumerate(plan.experiments):
        if experiment.start_day <= day <= experiment.end_day:
            eligible, variant, conflicted = _assignment(world, index, experiment, person)
            on = np.isin(platform, [EVENT_PLATFORMS.index(p) for p in experiment.platforms])
            variant = np.where(conflicted, rng.integers(0, len(experiment.variants), len(person)), variant)
            hit = np.nonzero(eligible & on)[0]
            sessions.append(hit)
            codes.append(base + variant[hit])
        base += len(experiment.variants)
    if not sessions:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(sessions), np.concatenate(codes)


def _timestamp(world: World, day: int) -> str:
    return day_date(world.start, day).isoformat() + "T00:00:00+08:00"


def campaigns_table(plan: Plan, world: World, costs: bool) -> pa.Table:
    """The campaign plan; with costs, the final snapshot that also says what each one cost."""
    rows = [
        {
            "campaign_id": c.campaign_id,
            "name": c.name,
            "type": c.type,
            "start_at": _timestamp(world, c.start_day),
            "end_at": _timestamp(world, c.end_day + 1),
            "budget": f"{c.budget:.2f}",
            "cost": f"{c.budget * 0.9:.2f}" if costs else None,
            "target_metric": c.target_metric,
            "target_value": None,
            "channels": c.channel,
        }
        for c in plan.campaigns
    ]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))


def experiments_table(plan: Plan, world: World) -> pa.Table:
    rows = [
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "start_at": _timestamp(world, e.start_day),
            "end_at": _timestamp(world, e.end_day + 1),
            "variants": ",".join(e.variants),
            "weights": ",".join(f"{w:g}" for w in e.declared),
            "primary_metric": e.primary_metric,
        }
        for e in plan.experiments
    ]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))


def targets_table(world: World, days: int, realised: dict[str, np.ndarray]) -> tuple[int, pa.Table]:
    """(landing day, table) of the month of the last day: daily realised counts set each target."""
    last = day_date(world.start, days - 1)
    period_start = last.replace(day=1)
    next_month = (period_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    period_days = (next_month - period_start).days
    first = max((period_start - world.start).days, 0)
    elapsed = days - first
    rows = []
    for metric, factor in (("new_users", AHEAD), ("orders", BEHIND)):
        pace = float(realised[metric][first:days].sum()) / elapsed * period_days
        rows.append(
            {
                "period_start": period_start.isoformat(),
                "period_end": (next_month - timedelta(days=1)).isoformat(),
                "metric": metric,
                "dimension": None,
                "dimension_value": None,
                "target": f"{round(pace * factor)}",
            }
        )
    return first, pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))


# One row breaking the contract per planning source: (kind, column, value), on a copy of the first row.
BAD_ROWS = {
    "campaigns": ("end_before_start", "end_at", None),
    "experiments": ("weights_mismatch", "weights", "0.5,0.3,0.2"),
    "targets": ("unknown_metric", "metric", "happiness"),
}


def with_bad_row(source: str, table: pa.Table) -> tuple[str, pa.Table]:
    kind, column, value = BAD_ROWS[source]
    row = table.slice(0, 1).to_pylist()[0]
    row[column] = row["start_at"] if value is None else value  # an end equal to the start is not after it
    key = {"campaigns": "campaign_id", "experiments": "experiment_id", "targets": "dimension_value"}[source]
    row[key] = f"{row[key] or ''}_bad" if source != "targets" else None
    return kind, pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)])


def manifest_entry(plan: Plan, world: World, realised: dict[str, np.ndarray]) -> dict:
    def label(day: int) -> str:
        return day_date(world.start, day).isoformat()

    def lift(c: PlannedCampaign) -> float:
        """The campaign's realised lift of the expected orders of its scope (after the generator's caps)."""
        days = slice(c.start_day, c.end_day + 1)
        base = realised["planned_base"][days].sum()
        return round(float(realised["planned_orders"][days].sum() / base), 4) if base else 1.0

    return {
        "campaigns": [
            {"campaign_id": c.campaign_id, "start": label(c.start_day), "end": label(c.end_day),
             "scope": f"channel={c.channel}" if c.channel else "all", "order_uplift": c.uplift,
             "realised_order_lift": lift(c)}
            for c in plan.campaigns
        ],
        "experiments": [
            {"experiment_id": e.experiment_id, "start": label(e.start_day), "end": label(e.end_day),
             "assigned": dict(zip(e.variants, e.assigned)), "order_lift": dict(zip(e.variants, e.lifts)),
             "expected_decision": "srm" if e.assigned != e.declared else
             "insufficient" if e.eligible_persons else "better"}
            for e in plan.experiments
        ],
        "targets": {"new_users": "ahead", "orders": "behind"},
    }  # fmt: skip
