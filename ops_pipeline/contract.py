"""The source contract (docs/sources.md) as data.

Ingestion, the sample generator and the tests all read these definitions, so
the contract is written down exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

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
    "experiment_exposure",
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
        Source(
            "campaigns",
            _cols(
                "campaign_id:string! name:string! type:string start_at:timestamp! end_at:timestamp! "
                "budget:decimal cost:decimal target_metric:string target_value:decimal "
                "channels:string platforms:string regions:string"
            ),
            "Operations activities (活动): the plan, its scope and what it cost; the latest landing day wins.",
            key=("campaign_id",),
        ),
        Source(
            "targets",
            _cols(
                "period_start:date! period_end:date! metric:string! dimension:string dimension_value:string "
                "target:decimal!"
            ),
            "Goals broken down from the plan (目标拆解), per period and metric; the latest landing day wins.",
            key=("period_start", "period_end", "metric", "dimension", "dimension_value"),
        ),
        Source(
            "experiments",
            _cols(
                "experiment_id:string! name:string start_at:timestamp! end_at:timestamp! variants:string! "
                "weights:string primary_metric:string"
            ),
            "A/B test definitions (exposures are experiment_exposure events); the latest landing day wins.",
            key=("experiment_id",),
        ),
    )
}

# Planning sources land when a plan changes, not every day: a day without a file is not missing.
SPARSE_SOURCES = frozenset({"campaigns", "targets", "experiments"})
# Campaign scope columns, by the metrics_daily dimension they slice.
CAMPAIGN_SCOPES = {"channels": "channel", "platforms": "platform", "regions": "region"}
# What an experiment can be judged on (marts.experiment_results); the first is the default.
EXPERIMENT_METRICS = ("pay_conversion", "order_conversion", "add_to_cart_conversion", "revenue_per_user")

# Columns that hold personal data: replaced by salted SHA-256 hashes at ingestion, so raw.users and the
# quarantine never hold them in clear.
PERSONAL_COLUMNS = {"users": ("phone", "email")}

# Columns beyond the contract (kept in _extra) are hashed the same way when their name says personal
# data: one of these words in the name (split at '_', '-', spaces and camelCase; e.g. phone_number,
# emailAddress, id_card, real_name), or one of the Chinese terms anywhere in it.
PERSONAL_NAME_WORDS = frozenset(
    {
        "phone",
        "phones",
        "mobile",
        "cellphone",
        "telephone",
        "tel",
        "email",
        "mail",
        "address",
        "addr",
        "idcard",
        "passport",
        "ssn",
        "birthday",
        "dob",
        "openid",
        "unionid",
        "username",
        "nickname",
        "realname",
        "fullname",
    }
)
# Word pairs of such names: id_card, id_number, real_name, ...
PERSONAL_NAME_PAIRS = frozenset(
    {
        ("id", "card"),
        ("id", "number"),
        ("id", "no"),
        ("identity", "number"),
        ("identity", "card"),
        ("birth", "date"),
        ("of", "birth"),
        ("real", "name"),
        ("full", "name"),
        ("first", "name"),
        ("last", "name"),
        ("given", "name"),
        ("family", "name"),
        ("user", "name"),
        ("nick", "name"),
        ("contact", "name"),
        ("customer", "name"),
        ("buyer", "name"),
        ("receiver", "name"),
        ("recipient", "name"),
        ("legal", "name"),
    }
)
PERSONAL_NAME_TERMS = (
    "手机",
    "电话",
    "邮箱",
    "邮件",
    "身份证",
    "证件",
    "地址",
    "姓名",
    "名字",
    "联系人",
    "收货人",
    "生日",
)
# And, whatever the column's name, a value that contains one of these forms (RE2, searched in the
# trimmed value, after removing the characters of the second pattern) is hashed as a whole: the personal
# data a column of any name, free text included, may carry. Digit runs are bounded, so a longer number
# (a trace id) does not count as a mobile number in it.
PERSONAL_VALUE_PATTERNS = {
    # An 11-digit mainland mobile number, optionally +86 / 86, written with spaces, dashes or brackets.
    "mobile number": (r"(^|[^0-9])(\+?86)?1[3-9][0-9]{9}([^0-9]|$)", r"[ ()-]"),
    "e-mail address": (r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}", None),
    # An 18-character resident ID number: region, a birth date of 1800-2099, sequence, check character.
    "ID number": (
        r"(^|[^0-9])[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]([^0-9A-Za-z]|$)",
        None,
    ),
}


def name_words(column_name: str) -> list[str]:
    """A column name's words, lower case: 'phoneNumber' and 'phone-number' give ['phone', 'number']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column_name.strip())
    return [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]


def looks_personal(column_name: str) -> bool:
    """Whether a column's name says it holds personal data (PERSONAL_NAME_WORDS, _PAIRS, _TERMS)."""
    words = name_words(column_name)
    return (
        column_name.strip().lower() == "name"
        or any(w in PERSONAL_NAME_WORDS for w in words)
        or any(pair in PERSONAL_NAME_PAIRS for pair in pairwise(words))
        or any(term in column_name for term in PERSONAL_NAME_TERMS)
    )


# Dates that cannot be later than the day after their landing day: a file cannot report what has not
# happened yet. A row breaking this is quarantined ('<column> more than one day after landing day').
# Timestamps are compared by their business date in the reporting time zone. published_at of
# kol_posts and content is not here: a post may be scheduled ahead.
NOT_AFTER_LANDING_DAY = {
    "events": ("event_time",),
    "orders": ("created_at", "updated_at", "paid_at", "refunded_at"),
    "users": ("registered_at",),
    "channel_spend": ("date",),
    "content": ("date",),
}

# Metadata columns ingestion adds to every raw table.
RAW_META_COLUMNS = (
    ("_landing_date", "DATE"),
    ("_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_extra", "VARCHAR"),
    ("_ingested_at", "TIMESTAMPTZ"),
)
