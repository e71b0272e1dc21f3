"""Named incidents: deliberate, documented swings the alerting must catch and explain.

`Incident` is what a caller asks for ("kol_viral@2026-03-01"); `ActiveIncident`
is what it resolves to on a concrete world (day indices, the affected slice),
and `DayEffects` is what the daily simulation needs to know about one day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ops_pipeline.generator import names
from ops_pipeline.generator.clock import day_date
from ops_pipeline.generator.sampling import stratified_counts
from ops_pipeline.generator.world import World, wake_reserve

MIN_HISTORY_DAYS = 35  # detectors compare with the same weekday of the previous 4 weeks
VIRAL_FACTOR = 10.0
VIRAL_RAMP = (0.8, 0.95)  # share of the jump reached on the first days; 1.0 afterwards
VIRAL_ARRIVALS = np.array([0.4, 0.25, 0.17, 0.11, 0.07])  # the reserve's first visits, by day


@dataclass(frozen=True)
class IncidentSpec:
    name: str
    duration_days: int
    default_offset: int  # days after the default anchor, so default incidents do not overlap
    expected_cause: str  # 'tracking' or 'business', as docs/alerting.md classifies causes
    description: str
    default_param: str | None = None


INCIDENTS: dict[str, IncidentSpec] = {
    spec.name: spec
    for spec in (
        IncidentSpec(
            "ios_pay_tracking_outage",
            2,
            0,
            "tracking",
            "the ios client loses ~95% of its pay_success events; backend orders stay normal",
        ),
        IncidentSpec(
            "channel_conversion_drop",
            3,
            4,
            "business",
            "persons of one acquisition channel register and order at half the rate; spend unchanged",
            "wechat_ads",
        ),
        IncidentSpec(
            "kol_viral",
            5,
            8,
            "business",
            "one KOL post's views, likes and shares jump ~10x; registrations with its tracking code jump",
        ),
    )
}


@dataclass(frozen=True)
class Incident:
    name: str
    start: date | None = None
    param: str | None = None  # channel for channel_conversion_drop, tracking code for kol_viral

    @classmethod
    def parse(cls, text: str) -> Incident:
        """'name[:param][@YYYY-MM-DD]'."""
        body, _, when = text.strip().partition("@")
        name, _, param = body.partition(":")
        return cls(name, date.fromisoformat(when) if when else None, param or None)

    def spec(self) -> str:
        """Back to the 'name[:param][@YYYY-MM-DD]' form."""
        return self.name + (f":{self.param}" if self.param else "") + (f"@{self.start}" if self.start else "")


@dataclass(frozen=True)
class ActiveIncident:
    name: str
    start_day: int
    end_day: int  # inclusive
    slice: dict[str, str]
    expected_cause: str
    details: dict = field(default_factory=dict)  # written to the manifest as well
    post_index: int | None = None  # kol_viral: index of the post in the catalogue

    def covers(self, day: int) -> bool:
        return self.start_day <= day <= self.end_day

    def manifest_entry(self, world: World) -> dict:
        return {
            "name": self.name,
            "start": day_date(world.start, self.start_day).isoformat(),
            "end": day_date(world.start, self.end_day).isoformat(),
            "slice": self.slice,
            "expected_cause": self.expected_cause,
            "description": INCIDENTS[self.name].description,
            **self.details,
        }


@dataclass(frozen=True)
class DayEffects:
    ios_pay_loss: float | None = None  # share of ios pay_success events lost today
    weak_channel: int = -1  # names.CHANNELS index converting at half the rate today
    viral: tuple[int, int] | None = None  # (post index, start day) of a viral post


def _as_incident(item: str | Incident) -> Incident:
    incident = Incident.parse(item) if isinstance(item, str) else item
    if incident.name not in INCIDENTS:
        raise ValueError(f"unknown incident {incident.name!r}; known incidents: {', '.join(INCIDENTS)}")
    if incident.param and incident.name == "ios_pay_tracking_outage":
        raise ValueError(f"ios_pay_tracking_outage takes no parameter (got {incident.param!r})")
    return incident


def resolve(items, world: World) -> list[ActiveIncident]:
    """Validate incidents, fix their days and slices, and apply world-level changes."""
    active = []
    incidents = [_as_incident(item) for item in items]
    for name in {i.name for i in incidents}:
        if sum(i.name == name for i in incidents) > 1:
            raise ValueError(f"incident {name!r} given more than once; each incident can run once per range")
    for incident in incidents:
        spec = INCIDENTS[incident.name]
        start = _start_day(incident, spec, world)
        end = min(start + spec.duration_days - 1, world.days - 1)
        param = incident.param or spec.default_param
        if incident.name == "ios_pay_tracking_outage":
            active.append(
                ActiveIncident(
                    incident.name,
                    start,
                    end,
                    {"platform": "ios", "event_name": "pay_success"},
                    spec.expected_cause,
                    {"lost_share": 0.95},
                )
            )
        elif incident.name == "channel_conversion_drop":
            if param not in names.CHANNELS:
                raise ValueError(
                    f"channel_conversion_drop: unknown channel {param!r}; one of {', '.join(names.CHANNELS)}"
                )
            active.append(
                ActiveIncident(
                    incident.name, start, end, {"channel": param}, spec.expected_cause, {"conversion_factor": 0.5}
                )
            )
        else:
            active.append(_kol_viral(world, start, end, param, spec))
    return active


def _start_day(incident: Incident, spec: IncidentSpec, world: World) -> int:
    if incident.start is not None:
        start = (incident.start - world.start).days
        if not 0 <= start < world.days:
            raise ValueError(f"{incident.name}: {incident.start} is outside the generated range")
        return start
    start = min(max(MIN_HISTORY_DAYS, 2 * world.days // 3) + spec.default_offset, world.days - spec.duration_days)
    if start < MIN_HISTORY_DAYS:
        raise ValueError(
            f"{incident.name}: {world.days} days leave no room after {MIN_HISTORY_DAYS} days of "
            f"history; generate at least {MIN_HISTORY_DAYS + spec.duration_days} days or give @YYYY-MM-DD"
        )
    return start


def _kol_viral(world: World, start: int, end: int, code: str | None, spec: IncidentSpec) -> ActiveIncident:
    posts = world.catalogue.posts
    if code is None:
        # The freshest post that already has a couple of days of snapshots before the jump.
        candidates = [i for i, p in enumerate(posts) if start - 14 <= p.publish_day <= start - 2]
        candidates = candidates or [i for i, p in enumerate(posts) if start - 59 <= p.publish_day <= start - 1]
        if not candidates:
            raise ValueError("kol_viral: no KOL post published in the 60 days before the start day")
        index = max(candidates, key=lambda i: (posts[i].publish_day, -i))
    else:
        matches = [i for i, p in enumerate(posts) if code in (p.campaign_id, p.post_id)]
        if not matches:
            raise ValueError(f"kol_viral: unknown post or tracking code {code!r}")
        index = matches[0]
        if not start - 59 <= posts[index].publish_day <= start - 1:
            raise ValueError(f"kol_viral: {code} must be published in the 60 days before the start day")
    post = posts[index]
    people = world.people
    arrivals = stratified_counts(VIRAL_ARRIVALS, people.size - people.regular)
    days = np.repeat(np.arange(start, start + len(VIRAL_ARRIVALS), dtype=np.int32), arrivals)
    wake_reserve(world, len(world.catalogue.campaigns) + index, days)
    kol = world.catalogue.kols[post.kol]
    return ActiveIncident(
        "kol_viral",
        start,
        end,
        {"channel": "kol", "campaign_id": post.campaign_id},
        spec.expected_cause,
        {
            "post_id": post.post_id,
            "kol_id": kol.kol_id,
            "views_factor": VIRAL_FACTOR,
            "extra_visitors": int(arrivals.sum()),
        },
        post_index=index,
    )


def effects(active: list[ActiveIncident], day: int) -> DayEffects:
    ios_loss, weak, viral = None, -1, None
    for incident in active:
        if incident.name == "kol_viral" and incident.post_index is not None:
            viral = (incident.post_index, incident.start_day)
        elif incident.covers(day) and incident.name == "ios_pay_tracking_outage":
            ios_loss = incident.details["lost_share"]
        elif incident.covers(day) and incident.name == "channel_conversion_drop":
            weak = names.CHANNELS.index(incident.slice["channel"])
    return DayEffects(ios_loss, weak, viral)


def viral_multiplier(post_index: int, day: int, viral: tuple[int, int] | None) -> float:
    """Factor on a post's cumulative counters: ~10x from the viral start day on."""
    if viral is None or viral[0] != post_index or day < viral[1]:
        return 1.0
    ramp = VIRAL_RAMP[day - viral[1]] if day - viral[1] < len(VIRAL_RAMP) else 1.0
    return 1.0 + (VIRAL_FACTOR - 1.0) * ramp
