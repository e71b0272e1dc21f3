"""Turn a simulated day into the Arrow tables of the events, orders and users sources.

Every column is formatted here, vectorised (pyarrow.compute), as the string a
real export would hold: ids, ISO timestamps in each source's own convention,
money with two decimals. Formatting to strings up front lets the bad-row
injector put `abc` in an amount column without changing the file's types.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ops_pipeline.contract import EVENT_NAMES, EVENT_PLATFORMS, ORDER_STATUSES, SOURCES
from ops_pipeline.generator import names
from ops_pipeline.generator.clock import DAY_MS, day_start_ms
from ops_pipeline.generator.days import Counters, DayActivity, E
from ops_pipeline.generator.ids import hex_ids, int_strings, mix48, money_strings, take, timestamp_strings, with_nulls
from ops_pipeline.generator.orders import OrderRows
from ops_pipeline.generator.sampling import pick_weighted
from ops_pipeline.generator.sessions import HOUR_WEIGHTS, VERSION_UNKNOWN
from ops_pipeline.generator.world import World

REGION_NAMES = [name for name, _ in names.REGIONS]
_VERSION_LABELS = [v for p in EVENT_PLATFORMS for v in names.APP_VERSIONS[p]] + ["unknown"]
_PROPERTY_LABELS = [json.dumps({"keyword": k}, ensure_ascii=False) for k in names.SEARCH_KEYWORDS] + [
    json.dumps({"to": t}) for t in names.SHARE_TARGETS
]


def person_user_ids(world: World, persons: np.ndarray) -> pa.Array:
    return hex_ids("u", mix48(persons, world.seed, "user"))


def events_table(
    world: World, act: DayActivity, counters: Counters, rng: np.random.Generator, exposure_labels: list[str]
) -> pa.Table:
    ev, s = act.events, act.sessions
    n = len(ev)
    seq = counters.event + np.arange(n, dtype=np.int64)
    counters.event += n
    person, slot, platform = s.person[ev.session], s.slot[ev.session], s.platform[ev.session]
    version = s.version[ev.session].astype(np.int64)
    version_code = np.where(
        version >= 0, platform * 2 + version, np.where(version == VERSION_UNKNOWN, len(_VERSION_LABELS) - 1, -1)
    )
    search, share, exposure = ev.name == E["search"], ev.name == E["share"], ev.name == E["experiment_exposure"]
    prop_code = np.select(
        [search, share, exposure], [ev.prop, len(names.SEARCH_KEYWORDS) + ev.prop, len(_PROPERTY_LABELS) + ev.prop], -1
    )
    properties = take(_PROPERTY_LABELS + exposure_labels, prop_code)
    product = ev.name == E["product_view"]
    if product.any():
        sku = pc.binary_join_element_wise('{"sku":"sku', int_strings(ev.prop), '"}', "")
        properties = pc.if_else(pa.array(product), sku, properties)
    region = np.where(rng.random(n) < 0.02, -1, world.people.region[person])  # IP lookup fails now and then
    columns = {
        "event_id": hex_ids("e", mix48(seq, world.seed, "event")),
        "event_time": timestamp_strings(ev.time_ms, "utc_z"),
        "event_name": take(EVENT_NAMES, ev.name),
        "device_id": hex_ids("d", mix48(person * 2 + slot, world.seed, "device")),
        "user_id": with_nulls(person_user_ids(world, person), ~ev.user_known),
        "platform": take(EVENT_PLATFORMS, platform),
        "app_version": take(_VERSION_LABELS, version_code),
        "channel": take(names.CHANNELS, s.channel[ev.session]),
        "campaign_id": take(world.catalogue.campaign_codes, s.campaign[ev.session]),
        "region": take(REGION_NAMES, region),
        "session_id": hex_ids("s", mix48(act.session_base + ev.session, world.seed, "session")),
        "content_id": take([c.content_id for c in world.catalogue.content], ev.content),
        "order_id": with_nulls(order_ids(world, np.maximum(ev.order, 0)), ev.order < 0),
        "properties": properties,
    }
    return pa.table(columns, schema=_string_schema("events"))


def order_ids(world: World, numbers: np.ndarray) -> pa.Array:
    return hex_ids("o", mix48(numbers, world.seed, "order"))


def orders_table(world: World, rows: OrderRows) -> pa.Table:
    def stamp(ms: np.ndarray) -> pa.Array:
        return with_nulls(timestamp_strings(np.maximum(ms, 0), "shanghai"), ms < 0)

    columns = {
        "order_id": order_ids(world, rows.order),
        "user_id": person_user_ids(world, rows.person),
        "created_at": stamp(rows.created_ms),
        "updated_at": stamp(rows.updated_ms),
        "status": take(ORDER_STATUSES, rows.status),
        "amount": money_strings(rows.amount_cents),
        "currency": take(["CNY"], np.where(rows.currency, 0, -1)),
        "paid_at": stamp(rows.paid_ms),
        "refunded_at": stamp(rows.refunded_ms),
        "refund_amount": with_nulls(money_strings(np.maximum(rows.refund_cents, 0)), rows.refund_cents < 0),
        "channel": take(names.CHANNELS, rows.channel),
        "campaign_id": take(world.catalogue.campaign_codes, rows.campaign),
        "platform": take(EVENT_PLATFORMS, rows.platform),
        "region": take(REGION_NAMES, rows.region),
    }
    return pa.table(columns, schema=_string_schema("orders"))


def users_table(world: World, persons: np.ndarray, registered_ms: np.ndarray, rng: np.random.Generator) -> pa.Table:
    n = len(persons)
    people = world.people
    prefixes = np.array(names.PHONE_PREFIXES, dtype=np.int64)
    phone = prefixes[rng.integers(0, len(prefixes), n)] * 10**8 + rng.integers(0, 10**8, n)
    domain = pick_weighted(rng, n, np.array([w for _, w in names.EMAIL_DOMAINS], dtype=float))
    qq = np.array([d for d, _ in names.EMAIL_DOMAINS])[domain] == "qq.com"
    # QQ mail addresses are the QQ number; other mailboxes a pinyin name and digits.
    named = pc.binary_join_element_wise(
        take(names.PINYIN, rng.integers(0, len(names.PINYIN), n)), int_strings(rng.integers(1, 9999, n)), ""
    )
    local = pc.if_else(pa.array(qq), int_strings(rng.integers(10**5, 3 * 10**9, n)), named)
    email = pc.binary_join_element_wise(local, take([d for d, _ in names.EMAIL_DOMAINS], domain), "@")
    columns = {
        "user_id": person_user_ids(world, persons),
        "registered_at": timestamp_strings(registered_ms, "naive_utc"),
        "channel": take(names.CHANNELS, people.channel[persons]),
        "campaign_id": take(world.catalogue.campaign_codes, people.campaign[persons]),
        "region": take(REGION_NAMES, np.where(rng.random(n) < 0.02, -1, people.region[persons])),
        "phone": with_nulls(int_strings(phone), rng.random(n) < 0.1),
        "email": with_nulls(email, rng.random(n) < 0.28),
    }
    return pa.table(columns, schema=_string_schema("users"))


def backfilled_accounts(world: World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Persons who signed up before the range, with a sign-up time on their registration day."""
    people = world.people
    persons = np.nonzero(people.reg_day < 0)[0]
    midnight = day_start_ms(world.start, 0) + people.reg_day[persons].astype(np.int64) * DAY_MS
    hour = pick_weighted(rng, len(persons), HOUR_WEIGHTS)
    return persons, midnight + ((hour + rng.random(len(persons))) * 3_600_000).astype(np.int64)


def _string_schema(source: str) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in SOURCES[source].column_names])
