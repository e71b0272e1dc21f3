"""The source contract (docs/sources.md) as data.

Ingestion, the sample generator and the tests all read these definitions, so
the contract is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_NAMES = (
    "app_open",
    "page_view",
    "product_view",
    "search",
    "register",
    "login",
    "add_to_cart",
    "order_submit",
    "pay_success",
    "content_view",
    "content_click",
    "share",
)
EVENT_PLATFORMS = ("ios", "android", "web", "mini_program")
ORDER_STATUSES = ("created", "paid", "cancelled", "refunded")
FILE_FORMATS = ("csv", "jsonl", "parquet")

# Logical type -> DuckDB storage type in raw.<source>.
STORAGE_TYPES = {
    "string": "VARCHAR",
    "json": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "float": "DOUBLE",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of STORAGE_TYPES
    required: bool = False

    @property
    def storage_type(self) -> str:
        return STORAGE_TYPES[self.type]


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    description: str
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse 'name:type[!]' tokens; '!' marks a required column."""
    columns = []
    for token in spec.split():
        name, type_ = token.split(":")
        columns.append(Column(name, type_.rstrip("!"), type_.endswith("!")))
    return tuple(columns)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "events",
            _cols(
                "event_id:string! event_time:timestamp! event_name:string! device_id:string! "
                "user_id:string platform:string! app_version:string channel:string "
                "campaign_id:string region:string session_id:string content_id:string "
                "order_id:string properties:json"
            ),
            "Client tracking events (埋点) as the apps' SDKs report them.",
            key=("event_id",),
        ),
        Source(
            "orders",
            _cols(
                "order_id:string! user_id:string! created_at:timestamp! updated_at:timestamp! "
                "status:string! amount:decimal! currency:string paid_at:timestamp "
                "refunded_at:timestamp refund_amount:decimal channel:string campaign_id:string "
                "platform:string region:string"
            ),
            "Backend order rows; every status change arrives as a new row (the money truth).",
            key=("order_id", "updated_at"),
        ),
        Source(
            "users",
            _cols(
                "user_id:string! registered_at:timestamp! channel:string campaign_id:string "
                "region:string phone:string email:string"
            ),
            "Backend registrations with first-touch acquisition channel.",
            key=("user_id",),
        ),
        Source(
            "channel_spend",
            _cols(
                "date:date! channel:string! campaign_id:string! campaign_name:string "
                "impressions:integer! clicks:integer! spend:decimal!"
            ),
            "Daily spend, impressions and clicks per ad campaign.",
            key=("date", "channel", "campaign_id"),
        ),
        Source(
            "kol_posts",
            _cols(
                "post_id:string! kol_id:string! kol_name:string platform:string! "
                "followers:integer! published_at:timestamp! views:integer! likes:integer! "
                "comments:integer! shares:integer! fee:decimal! campaign_id:string! "
                "audience_match:float"
            ),
            "Daily snapshots of KOL partner posts with cumulative counters.",
            key=("post_id",),
        ),
        Source(
            "content",
            _cols(
                "date:date! content_id:string! platform:string! title:string format:string "
                "published_at:timestamp exposures:integer! clicks:integer! reads:integer "
                "dwell_seconds_total:decimal likes:integer comments:integer shares:integer "
                "new_followers:integer"
            ),
            "Daily statistics of the team's own content items.",
            key=("date", "content_id", "platform"),
        ),
    )
}

# Columns that hold personal data: replaced by salted SHA-256 hashes at ingestion, so raw.users and the
# quarantine never hold them in clear.
PERSONAL_COLUMNS = {"users": ("phone", "email")}

# Metadata columns ingestion adds to every raw table.
RAW_META_COLUMNS = (
    ("_landing_date", "DATE"),
    ("_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_extra", "VARCHAR"),
    ("_ingested_at", "TIMESTAMPTZ"),
)
