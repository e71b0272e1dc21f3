"""Who comes back on a day, and the sessions they open.

Each person's chance to visit decays with the days since their first visit,
is higher once they have an account, and follows the week. Sampling is
systematic (see sampling.py), so DAU moves smoothly from day to day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ops_pipeline.contract import EVENT_PLATFORMS
from ops_pipeline.generator import names
from ops_pipeline.generator.clock import is_weekend
from ops_pipeline.generator.columns import Columns
from ops_pipeline.generator.incidents import DayEffects
from ops_pipeline.generator.sampling import pick_weighted, systematic
from ops_pipeline.generator.world import NEVER, World

# Sessions by hour of day, Asia/Shanghai: lunch break and the evening peak.
HOUR_WEIGHTS = np.array(
    [
        3.0,
        1.8,
        1.0,
        0.6,
        0.5,
        0.6,
        1.2,
        2.5,
        3.5,
        4.0,
        4.5,
        5.0,
        6.0,
        5.5,
        4.5,
        4.5,
        4.5,
        5.0,
        5.5,
        6.5,
        8.0,
        8.5,
        7.5,
        5.0,
    ]
)
WEEKEND_VISITS = 1.08
REGISTERED_BOOST, ANONYMOUS_DAMPING = 1.0, 0.35
VERSION_NULL, VERSION_UNKNOWN = -1, -2


def retention(age: np.ndarray) -> np.ndarray:
    """Daily visit chance of an average account holder by days since first visit: a fast
    and a slow decay (d1 ~70%, d7 ~40%, d30 ~20%). Anonymous visitors get ANONYMOUS_DAMPING of it."""
    a = np.maximum(age - 1, 0).astype(np.float64)
    return 0.40 * np.exp(-a / 5.0) + 0.32 * np.exp(-a / 60.0)


@dataclass
class Sessions(Columns):
    person: np.ndarray  # int64
    slot: np.ndarray  # int8: 0 main device, 1 second device
    platform: np.ndarray  # int8 index into EVENT_PLATFORMS
    channel: np.ndarray  # int8 index into names.CHANNELS, -1 = null
    campaign: np.ndarray  # int32 index into campaign codes, -1 = null
    version: np.ndarray  # int8: 0 old, 1 new, VERSION_NULL, VERSION_UNKNOWN
    start_s: np.ndarray  # float64 seconds after midnight Asia/Shanghai
    registered_before: np.ndarray  # bool: had an account before today
    registers: np.ndarray  # bool: signs up in this session
    acquisition: np.ndarray  # bool: the person's very first session


def visitors(world: World, day: int, rng: np.random.Generator, effects: DayEffects) -> np.ndarray:
    """Sorted indices of the persons who visit today."""
    people = world.people
    if effects.weak_channel >= 0:
        # Half of today's sign-ups from the weak channel give up and stay anonymous.
        due = np.nonzero((people.reg_day == day) & (people.channel == effects.weak_channel))[0]
        people.reg_day[due[systematic(rng, np.full(len(due), 0.5))]] = NEVER
    eligible = np.nonzero(people.first_day <= day)[0]
    age = day - people.first_day[eligible]
    reg_day = people.reg_day[eligible]
    factor = (WEEKEND_VISITS if is_weekend(world.start, day) else 1.0) * rng.lognormal(0, 0.01)
    boost = np.where(reg_day < day, REGISTERED_BOOST, ANONYMOUS_DAMPING)
    p = np.minimum(people.activity[eligible] * retention(age) * boost * factor, 0.95)
    p[(age == 0) | (reg_day == day)] = 1.0  # first visits and sign-up days happen for sure
    # Stratify on what drives orders (account, buying propensity); the jitter changes
    # neighbours every day so no two persons are tied together.
    buying = people.buying[eligible]
    key = (reg_day < day) + 0.5 * (buying / (buying.max(initial=0.0) + 1e-9) + 0.5 * rng.random(len(eligible)))
    return eligible[systematic(rng, p, key)]


def sessions_of(world: World, day: int, rng: np.random.Generator, persons: np.ndarray) -> Sessions:
    people = world.people
    first_visit = people.first_day[persons] == day
    registers = people.reg_day[persons] == day
    before = people.reg_day[persons] < day
    # One session on first-visit and sign-up days keeps "register is the first event
    # with a user_id" and "the acquisition session is the first one" trivially true.
    multi = ~(first_visit | registers)
    signed = before + 0.5 * people.buying[persons] / (people.buying[persons].max(initial=0.0) + 1e-9)
    extra = systematic(rng, np.where(multi, 0.22, 0.0), signed + 0.25 * rng.random(len(persons)))
    count = 1 + extra + (extra & systematic(rng, np.where(extra, 0.06 / 0.22, 0.0)))
    person = np.repeat(persons, count)
    opening = np.zeros(len(person), dtype=bool)
    opening[np.cumsum(count) - count] = True
    n = len(person)
    before_s = np.repeat(before, count)
    slot = ((people.second_platform[person] >= 0) & before_s & (rng.random(n) < 0.3)).astype(np.int8)
    platform = np.where(slot == 1, people.second_platform[person], people.platform[person]).astype(np.int8)

    acquisition = np.repeat(first_visit, count) & opening
    own_channel, own_campaign = people.channel[person], people.campaign[person]
    r = rng.random(n)
    # Later sessions: mostly direct opens (null) or organic, sometimes a re-engagement ad.
    channel = np.where(r < 0.55, -1, np.where(r < 0.85, names.CHANNELS.index("organic"), own_channel))
    campaign = np.where(r >= 0.85, own_campaign, -1)
    channel = np.where(acquisition, own_channel, channel).astype(np.int8)
    campaign = np.where(acquisition, own_campaign, campaign).astype(np.int32)

    new_share = 0.55 + 0.3 * day / max(world.days - 1, 1)  # the new app version rolls out
    v = rng.random(n)
    version = np.select([v < 0.01, v < 0.015, v < 0.015 + new_share], [VERSION_NULL, VERSION_UNKNOWN, 1], 0)
    hour = pick_weighted(rng, n, HOUR_WEIGHTS)
    start_s = (hour + rng.random(n)) * 3600.0
    return Sessions(
        person.astype(np.int64),
        slot,
        platform,
        channel,
        campaign,
        version.astype(np.int8),
        start_s,
        before_s,
        np.repeat(registers, count) & opening,
        acquisition,
    )


def is_app(platform: np.ndarray) -> np.ndarray:
    return np.isin(platform, [EVENT_PLATFORMS.index(p) for p in names.APP_PLATFORMS])
