"""What the company runs and buys: ad campaigns, KOL partners and posts, own content.

All of it is drawn once from the seed, before the first day, so every day's
files refer to the same campaigns, posts and content items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ops_pipeline.generator import names
from ops_pipeline.generator.clock import DAY_MS, day_start_ms


@dataclass(frozen=True)
class Campaign:
    channel: str
    campaign_id: str
    name: str
    weight: float  # share of its channel's acquisitions
    cac: float  # yuan per registered user
    ctr: float
    clicks_per_visitor: float  # ad clicks per new visitor it brings (bounces, returning clickers)


@dataclass(frozen=True)
class Kol:
    kol_id: str
    name: str
    platform: str
    followers: int
    audience_match: float | None


@dataclass(frozen=True)
class KolPost:
    post_id: str
    kol: int  # index into Catalogue.kols
    campaign_id: str  # tracking code carried by the post's links
    publish_day: int  # may be negative: published before the first landing day
    published_ms: int
    fee: float
    total_views: float  # views it saturates at without going viral
    tau_days: float  # how fast views saturate
    like_rate: float
    comment_rate: float
    share_rate: float
    pull: float  # relative power to bring new visitors


@dataclass(frozen=True)
class ContentItem:
    content_id: str
    platform: str
    title: str
    format: str
    publish_day: int
    published_ms: int
    peak_exposures: float
    tau_days: float
    ctr: float
    read_rate: float | None  # None: the platform reports no reads (live)
    dwell_seconds: float
    like_rate: float
    comment_rate: float
    share_rate: float
    follow_rate: float


@dataclass(frozen=True)
class Catalogue:
    campaigns: tuple[Campaign, ...]
    kols: tuple[Kol, ...]
    posts: tuple[KolPost, ...]
    content: tuple[ContentItem, ...]

    def campaigns_of(self, channel: str) -> list[int]:
        return [i for i, c in enumerate(self.campaigns) if c.channel == channel]

    @property
    def campaign_codes(self) -> list[str]:
        """Every campaign_id a person can carry: ad campaigns, then KOL tracking codes."""
        return [c.campaign_id for c in self.campaigns] + [p.campaign_id for p in self.posts]


def build_catalogue(rng: np.random.Generator, start: date, days: int, history: int) -> Catalogue:
    """history: days before the range in which persons (and so KOL posts) already exist."""
    return Catalogue(_campaigns(rng, start), *_kols_and_posts(rng, start, days, history), _content(rng, start, days))


def _campaigns(rng: np.random.Generator, start: date) -> tuple[Campaign, ...]:
    out = []
    for channel in names.PAID_CHANNELS:
        themes = names.CAMPAIGN_THEMES[channel]
        n = int(rng.integers(2, min(4, len(themes)) + 1))
        weights = rng.dirichlet(np.full(n, 4.0))
        for i in range(n):
            out.append(
                Campaign(
                    channel=channel,
                    campaign_id=f"{names.CAMPAIGN_PREFIX[channel]}_{start:%y%m}_{'abcd'[i]}",
                    name=themes[i],
                    weight=float(weights[i]),
                    cac=round(names.CHANNEL_CAC[channel] * float(rng.uniform(0.75, 1.3)), 2),
                    ctr=float(rng.uniform(0.01, 0.04)),
                    clicks_per_visitor=float(rng.uniform(1.5, 2.5)),
                )
            )
    return tuple(out)


def _kols_and_posts(
    rng: np.random.Generator, start: date, days: int, history: int
) -> tuple[tuple[Kol, ...], tuple[KolPost, ...]]:
    kols = []
    for i, name in enumerate(names.KOL_NAMES):
        followers = int(round(10 ** rng.uniform(4, np.log10(5e6)), -2))
        match = None if i % 9 == 4 else round(float(rng.uniform(0.2, 0.9)), 3)
        kols.append(Kol(f"kol_{i + 1:03d}", name, str(rng.choice(names.KOL_PLATFORMS)), followers, match))
    drafts = []
    for k in range(len(kols)):
        # Enough posts that some post is always fresh, also on long ranges.
        for _ in range(1 + int(rng.poisson((days + history) / 35))):
            day = int(rng.integers(-history - 10, days))
            drafts.append((day, float(rng.uniform(10, 22)), k))
    drafts.sort()
    posts = []
    for i, (day, hour, k) in enumerate(drafts):
        followers = kols[k].followers
        views = followers * float(rng.uniform(0.08, 0.5)) * float(rng.lognormal(0, 0.4))
        posts.append(
            KolPost(
                post_id=f"kp{i + 1:04d}",
                kol=k,
                campaign_id=f"kol_p{i + 1:04d}",
                publish_day=day,
                published_ms=day_start_ms(start, day) + int(hour * DAY_MS / 24),
                fee=float(np.clip(round(followers * rng.uniform(0.015, 0.05), -2), 2000, 200000)),
                total_views=views,
                tau_days=float(rng.uniform(1.5, 4.0)),
                like_rate=float(rng.uniform(0.02, 0.08)),
                comment_rate=float(rng.uniform(0.002, 0.01)),
                share_rate=float(rng.uniform(0.002, 0.015)),
                # sqrt: a mega-KOL brings more people, but not so many that one post
                # dominates a day's new users.
                pull=float(np.sqrt(views) * (kols[k].audience_match or 0.5)),
            )
        )
    return tuple(kols), tuple(posts)


def _content(rng: np.random.Generator, start: date, days: int) -> tuple[ContentItem, ...]:
    n = 40 + max(0, (days - 90) // 3)
    items = []
    for i in range(n):
        platform = str(rng.choice(names.CONTENT_PLATFORMS))
        fmt = str(rng.choice(names.CONTENT_FORMATS[platform]))
        day = int(rng.integers(-30, max(days - 1, 1)))
        title = names.CONTENT_TITLES[i % len(names.CONTENT_TITLES)]
        if i >= len(names.CONTENT_TITLES):
            title = f"{title}（{i // len(names.CONTENT_TITLES) + 1}）"
        platforms = [platform]
        if rng.random() < 0.2:  # cross-posted: same content_id, second platform row
            platforms.append(str(rng.choice([p for p in names.CONTENT_PLATFORMS if p != platform])))
        for p in platforms:
            item_format = fmt if fmt in names.CONTENT_FORMATS[p] else names.CONTENT_FORMATS[p][0]
            items.append(
                ContentItem(
                    content_id=f"ct{i + 1:04d}",
                    platform=p,
                    title=title,
                    format=item_format,
                    publish_day=day,
                    published_ms=day_start_ms(start, day) + int(rng.uniform(8, 21) * DAY_MS / 24),
                    peak_exposures=float(rng.lognormal(np.log(20000), 0.8)),
                    tau_days=float(rng.uniform(1.0, 5.0)),
                    ctr=float(rng.uniform(0.02, 0.12)),
                    read_rate=None if item_format == "live" else float(rng.uniform(0.6, 0.95)),
                    dwell_seconds=float(rng.uniform(40, 240)),
                    like_rate=float(rng.uniform(0.02, 0.1)),
                    comment_rate=float(rng.uniform(0.002, 0.02)),
                    share_rate=float(rng.uniform(0.005, 0.03)),
                    follow_rate=float(rng.uniform(0.002, 0.01)),
                )
            )
    return tuple(items)
