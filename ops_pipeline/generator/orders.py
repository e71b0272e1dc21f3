"""Backend orders: the rows written when an order is created, and its later status changes.

A status change is a new row of the same order_id with a later updated_at, in
the file of the day it happens (cancellation by timeout, refunds days later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ops_pipeline.contract import ORDER_STATUSES
from ops_pipeline.generator import names
from ops_pipeline.generator.clock import DAY_MS, day_start_ms
from ops_pipeline.generator.columns import Columns
from ops_pipeline.generator.sampling import stratified_lognormal, systematic
from ops_pipeline.generator.world import World

S = {name: i for i, name in enumerate(ORDER_STATUSES)}
CANCEL_SHARE_OF_UNPAID = 0.25  # 20% unpaid x 25% = ~5% of all orders end cancelled
REFUND_SHARE = 0.04
FULL_REFUND_SHARE = 0.65


@dataclass
class OrderRows(Columns):
    order: np.ndarray  # int64 global order number
    person: np.ndarray  # int64
    created_ms: np.ndarray  # int64 UTC epoch ms
    updated_ms: np.ndarray
    status: np.ndarray  # int8 index into ORDER_STATUSES
    amount_cents: np.ndarray  # int64
    paid_ms: np.ndarray  # int64, -1 = null
    refunded_ms: np.ndarray  # int64, -1 = null
    refund_cents: np.ndarray  # int64, -1 = null
    channel: np.ndarray  # int8 index into names.CHANNELS, -1 = null
    campaign: np.ndarray  # int32 campaign code index, -1 = null
    platform: np.ndarray  # int8 index into EVENT_PLATFORMS
    region: np.ndarray  # int16, -1 = null
    currency: np.ndarray  # bool: CNY written (else the optional column is null)


def new_orders(
    world: World,
    rng: np.random.Generator,
    sessions,
    order_session: np.ndarray,
    order_no: np.ndarray,
    created_ms: np.ndarray,
    paid_no: np.ndarray,
    paid_at: np.ndarray,
) -> OrderRows:
    """One row per order_submit: 'paid' when paid within the session, else 'created'."""
    n = len(order_no)
    paid_ms = np.full(n, -1, dtype=np.int64)
    if n:
        # The day's order numbers are one contiguous run: invert it to find each paid order's row.
        base = int(order_no.min())
        row_of = np.empty(n, dtype=np.int64)
        row_of[order_no - base] = np.arange(n)
        paid_ms[row_of[paid_no - base]] = paid_at
    is_paid = paid_ms >= 0
    # Amounts are stratified separately for paid and unpaid orders, so paid GMV is
    # not at the mercy of which few big baskets happened to be paid today.
    amount = np.empty(n)
    for subset in (is_paid, ~is_paid):
        amount[subset] = stratified_lognormal(rng, int(subset.sum()), 128.0, 0.75)
    amount_cents = (np.round(np.clip(amount, 20.0, 2000.0) * 10) * 10).astype(np.int64)  # prices end in .x0
    person = sessions.person[order_session]
    channel, campaign = last_touch(world, sessions, order_session)
    region = np.where(rng.random(n) < 0.02, -1, world.people.region[person]).astype(np.int16)
    return OrderRows(
        order=order_no.astype(np.int64),
        person=person.astype(np.int64),
        created_ms=created_ms,
        updated_ms=np.where(is_paid, paid_ms, created_ms),
        status=np.where(is_paid, S["paid"], S["created"]).astype(np.int8),
        amount_cents=amount_cents,
        paid_ms=paid_ms,
        refunded_ms=np.full(n, -1, dtype=np.int64),
        refund_cents=np.full(n, -1, dtype=np.int64),
        channel=channel,
        campaign=campaign,
        platform=sessions.platform[order_session].astype(np.int8),
        region=region,
        currency=rng.random(n) >= 0.07,
    )


def status_changes(world: World, day: int, rows: OrderRows) -> list[tuple[int, OrderRows]]:
    """Later rows for today's orders: (landing day, rows). Days past the range are dropped."""
    rng = np.random.default_rng([world.seed, 5, day])
    out: list[tuple[int, OrderRows]] = []
    unpaid = np.nonzero(rows.status == S["created"])[0]
    cancelled = rows.select(unpaid[systematic(rng, np.full(len(unpaid), CANCEL_SHARE_OF_UNPAID))])
    lag = 1 + (rng.random(len(cancelled)) < 0.3)
    cancelled.updated_ms = _time_on(world, day + lag, rng)
    cancelled.status[:] = S["cancelled"]
    out += _by_day(cancelled, day + lag, world.days)

    paid = np.nonzero(rows.status == S["paid"])[0]
    refunded = rows.select(paid[systematic(rng, np.full(len(paid), REFUND_SHARE))])
    lag = np.minimum(rng.geometric(0.3, len(refunded)), 10)
    refunded.refunded_ms = _time_on(world, day + lag, rng)
    refunded.updated_ms = refunded.refunded_ms.copy()
    refunded.status[:] = S["refunded"]
    partial = np.round(refunded.amount_cents * rng.uniform(0.2, 0.9, len(refunded))).astype(np.int64)
    refunded.refund_cents = np.where(rng.random(len(refunded)) < FULL_REFUND_SHARE, refunded.amount_cents, partial)
    out += _by_day(refunded, day + lag, world.days)
    return out


def _time_on(world: World, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A time during each given business day (between 08:00 and 23:00, when support works)."""
    midnight = day_start_ms(world.start, 0) + np.asarray(days, dtype=np.int64) * DAY_MS  # UTC+8 has no DST
    return midnight + (rng.uniform(8 / 24, 23 / 24, len(days)) * DAY_MS).astype(np.int64)


def _by_day(rows: OrderRows, landing: np.ndarray, days: int) -> list[tuple[int, OrderRows]]:
    return [(int(d), rows.select(np.nonzero(landing == d)[0])) for d in np.unique(landing) if d < days]


def last_touch(world: World, sessions, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(channel, campaign) an order of these sessions is credited to: a paid session keeps its own,
    a direct or organic one falls back to the person's acquisition."""
    person, session_channel = sessions.person[index], sessions.channel[index]
    own = (session_channel >= 0) & (session_channel != names.CHANNELS.index("organic"))
    channel = np.where(own, session_channel, world.people.channel[person]).astype(np.int8)
    campaign = np.where(own, sessions.campaign[index], world.people.campaign[person]).astype(np.int32)
    return channel, campaign
