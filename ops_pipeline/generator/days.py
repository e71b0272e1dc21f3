"""One business day of activity: the events inside each session, its orders and sign-ups.

Events are built per *kind* as arrays (np.repeat of session indices by a count
per session), never per event or per person. Within a session an ordering key
keeps the story consistent: open, sign-up/login, browsing, cart, order, pay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ops_pipeline.contract import EVENT_NAMES, EVENT_PLATFORMS
from ops_pipeline.generator import names
from ops_pipeline.generator.clock import day_start_ms, is_weekend
from ops_pipeline.generator.columns import Columns
from ops_pipeline.generator.incidents import DayEffects
from ops_pipeline.generator.marketing import content_exposures
from ops_pipeline.generator.orders import OrderRows, last_touch, new_orders
from ops_pipeline.generator.planning import Plan, exposures, order_factors
from ops_pipeline.generator.sampling import pick_weighted, systematic
from ops_pipeline.generator.sessions import Sessions, is_app, sessions_of, visitors
from ops_pipeline.generator.world import World

E = {name: i for i, name in enumerate(EVENT_NAMES)}
MEAN_GAP_S = 22.0  # seconds between two events of a session
PRODUCT_VIEW, ADD_TO_CART, PAY = 0.52, 0.30, 0.80  # funnel step rates per session
ORDER_SUBMIT = 0.62  # of carts of signed-in sessions: ~50% of all carts, as ~80% of carts are signed in
PAY_TRACKING_LOSS = 0.025  # paid by the backend, but pay_success never reaches tracking
WEEKEND_CONTENT, WEEKEND_BUYING = 1.15, 0.88


@dataclass
class DayEvents(Columns):
    time_ms: np.ndarray  # int64 UTC epoch ms
    name: np.ndarray  # int8 index into EVENT_NAMES
    session: np.ndarray  # int64 index into the day's sessions
    user_known: np.ndarray  # bool: the event carries the user_id
    content: np.ndarray  # int32 index into the content catalogue, -1
    prop: np.ndarray  # int32 payload for properties (keyword, sku, share target), -1
    order: np.ndarray  # int64 global order number, -1


@dataclass
class DayActivity:
    sessions: Sessions
    session_base: int  # global number of the day's first session
    events: DayEvents  # what tracking receives (lost pay_success removed), sorted by time
    orders: OrderRows  # orders created today, as first written
    registrations: np.ndarray  # person indices signing up today
    registered_ms: np.ndarray  # their register event times
    # The sessions a campaign or an experiment lifts: expected orders (sum of chances) with and without it.
    planned_orders: tuple[float, float] = (0.0, 0.0)


@dataclass
class Counters:
    """Running numbers behind ids, carried from day to day."""

    session: int = 0
    order: int = 0
    event: int = 0
    bad: int = 0


class _Parts:
    """Collects one array per column for each kind of event."""

    def __init__(self) -> None:
        self.columns: dict[str, list[np.ndarray]] = {
            k: [] for k in ("name", "session", "key", "content", "prop", "order")
        }

    def add(self, name, session, key, content=None, prop=None, order=None) -> None:
        n = len(session)
        none = np.full(n, -1)
        code = np.full(n, E[name]) if isinstance(name, str) else name
        for column, values in (
            ("name", code),
            ("session", session),
            ("key", key),
            ("content", content),
            ("prop", prop),
            ("order", order),
        ):
            self.columns[column].append(none if values is None else values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.columns.items()}


def simulate_day(world: World, day: int, effects: DayEffects, counters: Counters, plan: Plan) -> DayActivity:
    rng = np.random.default_rng([world.seed, 1, day])
    s = sessions_of(world, day, rng, visitors(world, day, rng, effects))
    n, everyone, parts = len(s), np.arange(len(s)), _Parts()
    parts.add(np.where(is_app(s.platform), E["app_open"], E["page_view"]), everyone, np.zeros(n))
    parts.add("register", np.nonzero(s.registers)[0], np.full(int(s.registers.sum()), 1.0))
    login = np.nonzero((s.slot == 1) | (s.registered_before & (rng.random(n) < 0.04)))[0]
    parts.add("login", login, np.full(len(login), 1.2))
    views = np.repeat(everyone, rng.poisson(np.where(is_app(s.platform), 2.6, 3.4)))
    parts.add("page_view", views, rng.uniform(2.0, 4.2, len(views)))
    searches = np.repeat(everyone, (rng.random(n) < 0.28) * (1 + rng.poisson(0.4, n)))
    parts.add(
        "search",
        searches,
        rng.uniform(2.0, 3.0, len(searches)),
        prop=rng.integers(0, len(names.SEARCH_KEYWORDS), len(searches)),
    )
    _content_events(world, day, rng, n, parts)
    exposed, labels = exposures(plan, world, day, s.person, s.platform, np.random.default_rng([world.seed, 8, day]))
    parts.add("experiment_exposure", exposed, np.full(len(exposed), 0.5), prop=labels)

    # The funnel is drawn top-down (order, then cart, then product view) with the
    # conditional rates that keep each step's marginal rate: the day's order count
    # is then the sum of per-session order probabilities +-1, not a chain of coin flips.
    people = world.people
    weekday_buying = WEEKEND_BUYING if is_weekend(world.start, day) else 1.0
    cart_rate = PRODUCT_VIEW * ADD_TO_CART
    signed_in = s.registered_before | s.registers
    q_order = cart_rate * ORDER_SUBMIT * people.buying[s.person] * weekday_buying * rng.lognormal(0, 0.01)
    q_order = np.where(people.channel[s.person] == effects.weak_channel, q_order * 0.5, q_order)
    factor = order_factors(plan, world, day, s.person, last_touch(world, s, everyone)[0])
    planned = factor != 1.0
    q_base = np.where(signed_in, np.minimum(q_order, cart_rate * 0.95), 0.0)[planned].sum()
    q_order = np.where(signed_in, np.minimum(q_order * factor, cart_rate * 0.95), 0.0)
    has_order = systematic(rng, q_order)
    has_cart = has_order | systematic(rng, np.where(has_order, 0.0, (cart_rate - q_order) / (1 - q_order)))
    has_product = has_cart | systematic(rng, np.where(has_cart, 0.0, (PRODUCT_VIEW - cart_rate) / (1 - cart_rate)))
    products = np.repeat(everyone, has_product * (1 + rng.poisson(1.2, n)))
    parts.add(
        "product_view", products, rng.uniform(2.0, 3.0, len(products)), prop=rng.integers(10000, 99999, len(products))
    )
    carts = np.nonzero(has_cart)[0]
    parts.add("add_to_cart", carts, rng.uniform(3.0, 3.3, len(carts)))
    buyers = np.nonzero(has_order)[0]
    order_session = np.repeat(buyers, 1 + systematic(rng, np.full(len(buyers), 0.04)))  # a second order
    order_no = counters.order + np.arange(len(order_session), dtype=np.int64)
    counters.order += len(order_session)
    order_key = rng.uniform(3.5, 3.7, len(order_session))
    parts.add("order_submit", order_session, order_key, order=order_no)
    paid = systematic(rng, np.full(len(order_session), PAY))
    parts.add(
        "pay_success",
        order_session[paid],
        order_key[paid] + rng.uniform(0.1, 0.15, int(paid.sum())),
        order=order_no[paid],
    )

    # user_id is known from the sign-up / login event on, and all along for account holders.
    known_from = np.where(s.registers, 1.0, np.where(s.slot == 1, 1.2, np.where(s.registered_before, 0.0, np.inf)))
    events = _timeline(rng, parts.arrays(), s.start_s, known_from, day_start_ms(world.start, day))
    submitted, pays = events.name == E["order_submit"], events.name == E["pay_success"]
    orders = new_orders(
        world,
        rng,
        s,
        events.session[submitted],
        events.order[submitted],
        events.time_ms[submitted],
        events.order[pays],
        events.time_ms[pays],
    )

    pay_rows = np.nonzero(pays)[0]
    loss = np.full(len(pay_rows), PAY_TRACKING_LOSS)
    if effects.ios_pay_loss is not None:  # incident: the ios client drops most pay_success events
        loss[s.platform[events.session[pay_rows]] == EVENT_PLATFORMS.index("ios")] = effects.ios_pay_loss
    tracked = np.ones(len(events), dtype=bool)
    tracked[pay_rows[systematic(rng, loss)]] = False
    registering = events.name == E["register"]
    activity = DayActivity(
        s,
        counters.session,
        events.select(np.nonzero(tracked)[0]),
        orders,
        s.person[events.session[registering]],
        events.time_ms[registering],
        (float(q_order[planned].sum()), float(q_base)),
    )
    counters.session += n
    return activity


def _content_events(world: World, day: int, rng: np.random.Generator, n: int, parts: _Parts) -> None:
    """content_view of catalogue items (by today's exposure), some clicked through or shared."""
    weekend = WEEKEND_CONTENT if is_weekend(world.start, day) else 1.0
    readers = np.nonzero(systematic(rng, np.full(n, min(0.35 * weekend, 1.0))))[0]
    sessions = np.repeat(readers, 1 + rng.poisson(0.9, len(readers)))
    weights = content_exposures(world, day)
    if weights.sum() <= 0:
        return
    items = pick_weighted(rng, len(sessions), weights)
    key = rng.uniform(2.0, 2.9, len(sessions))
    parts.add("content_view", sessions, key, content=items)
    click = rng.random(len(sessions)) < 0.4
    parts.add("content_click", sessions[click], key[click] + 0.01, content=items[click])
    share = rng.random(len(sessions)) < 0.08
    parts.add(
        "share",
        sessions[share],
        key[share] + 0.02,
        content=items[share],
        prop=rng.integers(0, len(names.SHARE_TARGETS), int(share.sum())),
    )


def _timeline(
    rng: np.random.Generator, cols: dict[str, np.ndarray], start_s: np.ndarray, known_from: np.ndarray, midnight_ms: int
) -> DayEvents:
    """Order events inside each session by key, space them out, place sessions in the day."""
    order = np.lexsort((cols["key"], cols["session"]))
    cols = {k: v[order] for k, v in cols.items()}
    session = cols["session"]
    first = np.ones(len(session), dtype=bool)
    first[1:] = session[1:] != session[:-1]
    gaps = np.where(first, 0.0, rng.exponential(MEAN_GAP_S, len(session)))
    elapsed = np.cumsum(gaps)
    offset = elapsed - np.maximum.accumulate(np.where(first, elapsed, 0.0))
    duration = np.zeros(len(start_s))
    np.maximum.at(duration, session, offset)
    # Sessions end before midnight: every event belongs to the day's file.
    start = np.minimum(start_s, 86_399.0 - duration)
    time_ms = midnight_ms + np.round((start[session] + offset) * 1000).astype(np.int64)
    by_time = np.argsort(time_ms, kind="stable")
    return DayEvents(
        time_ms=time_ms[by_time],
        name=cols["name"][by_time].astype(np.int8),
        session=session[by_time].astype(np.int64),
        user_known=(cols["key"] >= known_from[session])[by_time],
        content=cols["content"][by_time].astype(np.int32),
        prop=cols["prop"][by_time].astype(np.int32),
        order=cols["order"][by_time].astype(np.int64),
    )
