"""Daily rows of the marketing sources: ad spend, KOL post snapshots, own content stats.

These are small (tens of rows a day), so they are computed per campaign/post/
item directly into Arrow tables. Each row draws from its own seeded stream, so
a restated spend row can recompute exactly what was first delivered.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ops_pipeline.generator import names
from ops_pipeline.generator.clock import DAY_MS, day_label, day_start_ms, is_weekend
from ops_pipeline.generator.ids import money_strings, timestamp_strings
from ops_pipeline.generator.incidents import viral_multiplier
from ops_pipeline.generator.world import DELAY_PMF, HISTORY_DAYS, REGISTER_SHARE, World

KOL_SNAPSHOT_DAYS = 60
RESTATE_CHANCE = 0.15  # per landing day: one campaign's earlier day is re-delivered


def content_exposures(world: World, day: int) -> np.ndarray:
    """Expected exposures of every catalogue item today: a launch peak, then a long tail."""
    out = np.zeros(len(world.catalogue.content))
    for i, item in enumerate(world.catalogue.content):
        age = day - item.publish_day
        if age >= 0:
            out[i] = item.peak_exposures * (np.exp(-age / item.tau_days) + 0.01)
    return out


def content_table(world: World, day: int) -> pa.Table:
    rng = np.random.default_rng([world.seed, 3, day])
    weekend = 1.15 if is_weekend(world.start, day) else 1.0
    rows = []
    for item, expected in zip(world.catalogue.content, content_exposures(world, day)):
        if item.publish_day > day:
            continue
        exposures = int(expected * weekend * rng.lognormal(0, 0.08))
        clicks = int(rng.binomial(exposures, min(item.ctr * rng.lognormal(0, 0.1), 1.0)))
        reads = None if item.read_rate is None else int(rng.binomial(clicks, item.read_rate))
        engaged = clicks if reads is None else reads
        rows.append(
            {
                "date": day_label(world.start, day),
                "content_id": item.content_id,
                "platform": item.platform,
                "title": item.title,
                "format": item.format,
                "published_at": timestamp_strings(np.array([item.published_ms]), "shanghai")[0].as_py(),
                "exposures": str(exposures),
                "clicks": str(clicks),
                "reads": None if reads is None else str(reads),
                "dwell_seconds_total": f"{engaged * item.dwell_seconds * rng.lognormal(0, 0.1):.1f}",
                "likes": str(rng.binomial(engaged, item.like_rate)),
                "comments": str(rng.binomial(engaged, item.comment_rate)),
                "shares": str(rng.binomial(engaged, item.share_rate)),
                "new_followers": str(rng.binomial(engaged, item.follow_rate)),
            }
        )
    return _strings(
        rows,
        [
            "date",
            "content_id",
            "platform",
            "title",
            "format",
            "published_at",
            "exposures",
            "clicks",
            "reads",
            "dwell_seconds_total",
            "likes",
            "comments",
            "shares",
            "new_followers",
        ],
    )


SPEND_COLUMNS = ["date", "channel", "campaign_id", "campaign_name", "impressions", "clicks", "spend"]


def spend_tables(world: World, day: int) -> tuple[pa.Table, pa.Table | None]:
    """Today's row per ad campaign, and maybe a restated row for an earlier day."""
    rows = [_spend_row(world, c, day) for c in range(len(world.catalogue.campaigns))]
    rng = np.random.default_rng([world.seed, 4, day, 9999])
    restated = None
    if day >= 1 and rng.random() < RESTATE_CHANCE:
        campaign = int(rng.integers(len(world.catalogue.campaigns)))
        earlier = max(day - int(rng.integers(1, 4)), 0)
        row = _spend_row(world, campaign, earlier, restate=float(rng.uniform(0.93, 1.08)))
        restated = _strings([row], SPEND_COLUMNS)
    return _strings(rows, SPEND_COLUMNS), restated


def _spend_row(world: World, index: int, day: int, restate: float = 1.0) -> dict:
    """Spend follows the registrations the campaign is expected to bring (so CAC is plausible);
    an incident that hurts conversion does not change what the ad platform bills."""
    campaign = world.catalogue.campaigns[index]
    share = names.CHANNEL_SHARES[names.CHANNELS.index(campaign.channel)] / sum(names.CHANNEL_SHARES)
    new = world.people.new_density * share * campaign.weight  # indexed from -HISTORY_DAYS
    at = day + HISTORY_DAYS
    lags = np.arange(min(at + 1, len(DELAY_PMF)))
    expected_regs = REGISTER_SHARE * float(np.sum(new[at - lags] * DELAY_PMF[lags]))
    rng = np.random.default_rng([world.seed, 4, day, index])
    clicks = int(round(new[at] * campaign.clicks_per_visitor * rng.lognormal(0, 0.05) * (1 + (restate - 1) / 2)))
    impressions = int(round(clicks / (campaign.ctr * rng.lognormal(0, 0.05))))
    spend = int(round(expected_regs * campaign.cac * rng.lognormal(0, 0.05) * restate * 100))
    return {
        "date": day_label(world.start, day),
        "channel": campaign.channel,
        "campaign_id": campaign.campaign_id,
        "campaign_name": campaign.name,
        "impressions": str(impressions),
        "clicks": str(clicks),
        "spend": money_strings(np.array([spend]))[0].as_py(),
    }


KOL_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("kol_id", pa.string()),
        ("kol_name", pa.string()),
        ("platform", pa.string()),
        ("followers", pa.int64()),
        ("published_at", pa.timestamp("ms", tz="UTC")),
        ("views", pa.int64()),
        ("likes", pa.int64()),
        ("comments", pa.int64()),
        ("shares", pa.int64()),
        ("fee", pa.float64()),
        ("campaign_id", pa.string()),
        ("audience_match", pa.float64()),
    ]
)


def kol_table(world: World, day: int, viral: tuple[int, int] | None) -> pa.Table:
    """Snapshot at the end of the day of every post published in the last 60 days."""
    snapshot_ms = day_start_ms(world.start, day + 1)
    rows = []
    for i, post in enumerate(world.catalogue.posts):
        if not 0 <= day - post.publish_day < KOL_SNAPSHOT_DAYS:
            continue
        kol = world.catalogue.kols[post.kol]
        age = (snapshot_ms - post.published_ms) / DAY_MS
        views = post.total_views * (1 - np.exp(-age / post.tau_days)) * viral_multiplier(i, day, viral)
        rows.append(
            {
                "post_id": post.post_id,
                "kol_id": kol.kol_id,
                "kol_name": kol.name,
                "platform": kol.platform,
                "followers": int(kol.followers * (1 + 0.0005 * day)),
                "published_at": post.published_ms,
                "views": int(views),
                "likes": int(views * post.like_rate),
                "comments": int(views * post.comment_rate),
                "shares": int(views * post.share_rate),
                "fee": post.fee,
                "campaign_id": post.campaign_id,
                "audience_match": kol.audience_match,
            }
        )
    return pa.Table.from_pylist(rows, schema=KOL_SCHEMA)


def _strings(rows: list[dict], columns: list[str]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.string()) for c in columns]))
