"""The population of potential users, drawn once before the first day.

Every person is a row of a few numpy arrays (struct of arrays, so a day can be
simulated for millions of persons without a Python loop). Attributes that
drive daily totals (first-visit day, channel, registration and its delay) are
spread with stratified/Weyl sequences: each cohort gets its fair share, so the
totals are smooth and only incidents make them jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ops_pipeline.contract import EVENT_PLATFORMS
from ops_pipeline.generator import names
from ops_pipeline.generator.catalogue import Catalogue, build_catalogue
from ops_pipeline.generator.clock import is_weekend
from ops_pipeline.generator.sampling import WEYL_STEPS, pick_weighted, stratified_counts, weyl

NEVER = np.int32(2**30)
REGISTER_SHARE = 0.6
# P(registration delay = k days after the first visit), k = 0..14.
DELAY_PMF = np.array([0.55] + [0.45 * 0.3 * 0.7 ** (k - 1) for k in range(1, 15)])
DELAY_PMF = DELAY_PMF / DELAY_PMF.sum()
# The app exists before the first landing day: persons arrive from HISTORY_DAYS before it
# on, so the range starts with a settled user base (and DAU that moves gently), not an
# empty app. Their earlier activity is not written; the accounts they opened are
# backfilled into the first day's users file.
HISTORY_DAYS = 120
GROWTH = 0.25  # new persons per day grow by this share across history + range
KOL_MEMORY_DAYS = 14  # a post keeps bringing people for about two weeks


@dataclass
class Population:
    regular: int  # persons 0..regular-1; the rest are the viral reserve
    platform: np.ndarray  # int8 index into EVENT_PLATFORMS (device 1)
    second_platform: np.ndarray  # int8, -1 when the person has a single device
    region: np.ndarray  # int16 index into names.REGIONS
    channel: np.ndarray  # int8 index into names.CHANNELS (acquisition, first touch)
    campaign: np.ndarray  # int32 index into Catalogue.campaign_codes, -1 = none
    first_day: np.ndarray  # int32 day index (negative: before the range); NEVER for the reserve until woken
    reg_delay: np.ndarray  # int16 days from first visit to sign-up
    will_register: np.ndarray  # bool
    reg_day: np.ndarray  # int32, NEVER when the person does not (or no longer) register; < 0: before the range
    activity: np.ndarray  # float32, mean 1: how often the person comes back
    buying: np.ndarray  # float32, mean 1: how likely a cart becomes an order
    new_density: np.ndarray  # float64 per day from -HISTORY_DAYS: expected new persons (for ad spend)

    @property
    def size(self) -> int:
        return len(self.first_day)


@dataclass
class World:
    start: date
    days: int
    seed: int
    catalogue: Catalogue
    people: Population


def build_world(start: date, days: int, users: int, seed: int) -> World:
    rng = np.random.default_rng([seed, 0])
    catalogue = build_catalogue(rng, start, days, HISTORY_DAYS)
    return World(start, days, seed, catalogue, _population(rng, start, days, users, catalogue))


def _population(rng: np.random.Generator, start: date, days: int, users: int, cat: Catalogue) -> Population:
    reserve = int(np.ceil(1.5 * users / (days + HISTORY_DAYS))) + 10
    size = users + reserve
    span = np.arange(-HISTORY_DAYS, days)
    trend = 1 + GROWTH * (span + HISTORY_DAYS) / (len(span) - 1)
    weekend = np.array([1.06 if is_weekend(start, int(d)) else 1.0 for d in span])
    density = trend * weekend * rng.lognormal(0, 0.03, len(span))
    first_day = np.full(size, NEVER, dtype=np.int32)
    first_day[:users] = np.repeat(span.astype(np.int32), stratified_counts(density, users))

    channel = np.full(size, names.CHANNELS.index("kol"), dtype=np.int8)
    shares = np.cumsum(names.CHANNEL_SHARES)
    channel[:users] = np.searchsorted(shares / shares[-1], weyl(users, WEYL_STEPS["channel"], rng), side="right")
    campaign = np.full(size, -1, dtype=np.int32)
    for ch in names.PAID_CHANNELS:
        members = np.nonzero(channel[:users] == names.CHANNELS.index(ch))[0]
        ids = np.array(cat.campaigns_of(ch))
        campaign[members] = ids[pick_weighted(rng, len(members), np.array([cat.campaigns[i].weight for i in ids]))]
    _assign_kol_posts(rng, cat, first_day[:users], channel[:users], campaign[:users], days)

    will = weyl(size, WEYL_STEPS["register"], rng) < REGISTER_SHARE
    delay = np.searchsorted(np.cumsum(DELAY_PMF), weyl(size, WEYL_STEPS["delay"], rng), side="right")
    delay = np.minimum(delay, len(DELAY_PMF) - 1).astype(np.int16)
    reg_day = _registration_days(rng, first_day, will, delay)

    platform = pick_weighted(rng, size, np.array(names.PLATFORM_WEIGHTS)).astype(np.int8)
    second = np.full(size, -1, dtype=np.int8)
    two = rng.random(size) < 0.05
    # A second device is mostly the web or the mini program, sometimes the other phone OS.
    offset = pick_weighted(rng, size, np.array([0.2, 0.5, 0.3]))  # other app, web, mini program
    other_app = np.where(
        platform == EVENT_PLATFORMS.index("ios"), EVENT_PLATFORMS.index("android"), EVENT_PLATFORMS.index("ios")
    )
    choice = np.select(
        [offset == 0, offset == 1], [other_app, EVENT_PLATFORMS.index("web")], EVENT_PLATFORMS.index("mini_program")
    )
    choice = np.where(choice == platform, EVENT_PLATFORMS.index("web"), choice)
    second[two] = choice[two]
    region = pick_weighted(rng, size, np.array([w for _, w in names.REGIONS], dtype=float)).astype(np.int16)
    activity = np.exp(rng.normal(0, 0.7, size) - 0.7**2 / 2).astype(np.float32)
    buying = np.exp(rng.normal(0, 0.35, size) - 0.35**2 / 2).astype(np.float32)
    return Population(
        users,
        platform,
        second,
        region,
        channel,
        campaign,
        first_day,
        delay,
        will,
        reg_day,
        activity,
        buying,
        density / density.sum() * users,
    )


def _assign_kol_posts(
    rng: np.random.Generator,
    cat: Catalogue,
    first_day: np.ndarray,
    channel: np.ndarray,
    campaign: np.ndarray,
    days: int,
) -> None:
    """KOL-acquired persons carry the tracking code of a fresh post; no fresh post -> organic."""
    kol = names.CHANNELS.index("kol")
    base = len(cat.campaigns)
    publish = np.array([p.publish_day for p in cat.posts])
    pull = np.array([p.pull for p in cat.posts])
    span = np.arange(-HISTORY_DAYS, days + 1)
    bounds = np.searchsorted(first_day, span)  # first_day is sorted
    for i, day in enumerate(span[:-1]):
        members = bounds[i] + np.nonzero(channel[bounds[i] : bounds[i + 1]] == kol)[0]
        age = day - publish
        fresh = (age >= 0) & (age < KOL_MEMORY_DAYS)
        if not fresh.any():
            channel[members] = names.CHANNELS.index("organic")
            continue
        weights = np.where(fresh, pull * np.exp(-np.clip(age, 0, None) / 4.0), 0.0)
        campaign[members] = base + pick_weighted(rng, len(members), weights)


def _registration_days(
    rng: np.random.Generator, first_day: np.ndarray, will: np.ndarray, delay: np.ndarray
) -> np.ndarray:
    """first visit + delay, evened out so each day's sign-ups follow their expected count.

    Independent delays would make daily sign-ups wobble like a Poisson count (+-20%
    at a few dozen a day). Instead registrants, in order of first visit + delay, fill
    the cumulative expected curve (cohort sizes convolved with the delay law, with
    a little day-level noise), never before their own first visit.
    """
    reg_day = np.full(len(first_day), NEVER, dtype=np.int32)
    who = np.nonzero(will & (first_day < NEVER))[0]
    if len(who) == 0:
        return reg_day
    lo = int(first_day[who].min())
    cohorts = np.bincount(first_day[who] - lo)
    expected = np.convolve(cohorts, DELAY_PMF) * rng.lognormal(0, 0.015, len(cohorts) + len(DELAY_PMF) - 1)
    target = np.round(np.cumsum(expected) / expected.sum() * len(who))
    tau = first_day[who] + delay[who] + rng.random(len(who))
    queue = who[np.argsort(tau, kind="stable")]  # registrants, most eager first
    waiting = np.ones(len(queue), dtype=bool)
    head = done = 0
    for day in range(lo, lo + len(target)):
        need = int(target[day - lo]) - done
        if need <= 0:
            continue
        # The most eager registrants who have already visited by this day.
        window = np.arange(head, min(head + 2 * need + 64, len(queue)))
        ready = window[waiting[window] & (first_day[queue[window]] <= day)][:need]
        reg_day[queue[ready]] = day
        waiting[ready] = False
        done += len(ready)
        while head < len(queue) and not waiting[head]:
            head += 1
    return reg_day


def wake_reserve(world: World, campaign_index: int, first_days: np.ndarray) -> None:
    """Bring reserve persons in as new visitors carrying one campaign (a viral post)."""
    people = world.people
    idle = np.arange(people.regular, people.size)[: len(first_days)]
    people.first_day[idle] = first_days
    people.channel[idle] = names.CHANNELS.index("kol")
    people.campaign[idle] = campaign_index
    people.reg_day[idle] = np.where(people.will_register[idle], first_days + people.reg_delay[idle], NEVER)
