"""The generated statement that types and validates a file's rows against the contract.

One SELECT over _src yields the typed contract columns, the extra columns as
JSON, __reason: every contract rule the row breaks, as 'kind: detail' texts
joined by '; ', NULL when none, and __record: for the rows with a reason only,
the file's row as JSON (personal data hashed), which raw.quarantine keeps.

Personal data is hashed as salted SHA-256 of the trimmed value: the contract's
personal columns, extra columns whose name says personal data
(contract.looks_personal), and, in any other extra column, each value that
contains a mobile number, an e-mail address or an ID number
(contract.PERSONAL_VALUE_PATTERNS).

A value is typed only when its text means exactly the number stored: an
integer is a whole number written as one (`12`, `+12`, `12.0`; not `12.7`,
`1e3`, `0x1F` or `1_000`, which DuckDB would round or reinterpret), and a
decimal that a double cannot hold digit for digit (more than about 16
significant digits) is refused instead of being rounded.
"""

from __future__ import annotations

from ops_pipeline.contract import (
    CAMPAIGN_SCOPES,
    EVENT_PLATFORMS,
    EXPERIMENT_METRICS,
    NOT_AFTER_LANDING_DAY,
    ORDER_STATUSES,
    PERSONAL_COLUMNS,
    PERSONAL_VALUE_PATTERNS,
    Column,
    Source,
    looks_personal,
)
from ops_pipeline.metrics.registry import load_registry
from ops_pipeline.sqltext import ident, sql_list, sql_str

# The text of an integer: a whole number, optionally with a zero fraction (pandas writes 12.0).
INTEGER_TEXT = r"[+-]?[0-9]+(\.0*)?"
# The text of a decimal or float: plain or scientific notation, nothing else.
NUMBER_TEXT = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def typed_select(source: Source, file_columns: dict[str, str], timezone_name: str) -> str:
    """SELECT over _src giving __row, the typed contract columns, __extra, __reason and __record."""
    personal = PERSONAL_COLUMNS.get(source.name, ())
    cleaned = ["__row"]
    for column in source.columns:
        original = file_columns.get(column.name)
        value = f"nullif(trim({ident(original)}), '')" if original else "cast(null as varchar)"
        if column.name in personal:
            value = f"sha256($salt || {value})"
        cleaned.append(f"{value} as {ident('v_' + column.name)}")
    extras = {key: name for key, name in file_columns.items() if key not in source.column_names}
    extra_pairs = ", ".join(f"{sql_str(name)}, {extra_value(ident(name), name)}" for name in extras.values())
    extra = f"json_object({extra_pairs})" if extras else "cast(null as varchar)"
    cleaned.append(f"{extra} as __extra")
    # The file's own values, carried along for the record of a rejected row.
    raw = {key: ident("raw_" + name) for key, name in file_columns.items()}
    cleaned += [f"{ident(name)} as {raw[key]}" for key, name in file_columns.items()]
    record_pairs = ", ".join(
        f"{sql_str(name)}, "
        + (
            f"sha256($salt || {raw[key]})"
            if key in personal
            else extra_value(raw[key], name)
            if key in extras
            else raw[key]
        )
        for key, name in file_columns.items()
    )
    record = f"json_object({record_pairs})" if record_pairs else "'{}'"

    typed = ", ".join(f"{_typed_value(c)} as {ident(c.name)}" for c in source.columns)
    reasons = [r for c in source.columns for r in _column_reasons(c)] + _source_reasons(source, timezone_name)
    names = ", ".join(ident(c.name) for c in source.columns)
    return (
        f"with cleaned as (select {', '.join(cleaned)} from _src),"
        f" typed as (select *, {typed} from cleaned),"
        f" checked as (select *, nullif(concat_ws('; ', {', '.join(reasons)}), '') as __reason from typed)"
        f" select __row, {names}, __extra, __reason,"
        f" case when __reason is not null then {record} end as __record from checked"
    )


def extra_value(column_sql: str, name: str) -> str:
    """What _extra keeps of an extra column's value: the value as the file had it, or its salted
    hash when the column's name says personal data, or when the value contains a personal form."""
    trimmed = f"nullif(trim({column_sql}), '')"
    if looks_personal(name):
        return f"sha256($salt || {trimmed})"
    return f"case when {personal_value_test(trimmed)} then sha256($salt || {trimmed}) else {column_sql} end"


def personal_value_test(value_sql: str) -> str:
    """SQL: whether a (trimmed) value contains one of the forms of PERSONAL_VALUE_PATTERNS."""
    tests = []
    for pattern, ignored in PERSONAL_VALUE_PATTERNS.values():
        subject = f"regexp_replace({value_sql}, {sql_str(ignored)}, '', 'g')" if ignored else value_sql
        tests.append(f"regexp_matches({subject}, {sql_str(pattern)})")
    return "coalesce(" + " or ".join(tests) + ", false)"


def _typed_value(column: Column) -> str:
    v = ident("v_" + column.name)
    if column.name == "platform" or column.name == "status":
        return f"lower({v})"
    number = (
        f"case when regexp_full_match({v}, {sql_str(NUMBER_TEXT)}) and isfinite(try_cast({v} as double)) "
        f"then try_cast({v} as double) end"
    )
    return {
        "string": v,
        "json": v,
        "timestamp": f"try_cast({v} as timestamptz)",
        "date": f"try_cast({v} as date)",
        "integer": f"case when regexp_full_match({v}, {sql_str(INTEGER_TEXT)}) then try_cast({v} as bigint) end",
        "decimal": number,
        "float": number,
    }[column.type]


def _column_reasons(column: Column) -> list[str]:
    v, typed, name = ident("v_" + column.name), ident(column.name), column.name
    reasons = []
    if column.required:
        reasons.append(f"case when {v} is null then 'missing required {name}' end")
    if column.type == "json":
        reasons.append(
            f"case when {v} is not null and not coalesce(json_valid({v}), false) then '{name} is not valid JSON' end"
        )
    elif column.type not in ("string",):
        reasons.append(
            f"case when {v} is not null and {typed} is null then '{name} is not a valid {column.type}: ' || {v} end"
        )
    if column.type == "decimal":
        # Amounts must arrive as written (a float is a measurement: its last digits carry nothing).
        # A double holds 15-17 significant digits; its shortest text (DuckDB's cast to varchar) is
        # the number it stores. Compared as decimals with 18 places, so 12.50 and 12.5 are the same.
        stored = f"cast({typed} as varchar)"
        reasons.append(
            f"case when try_cast({v} as decimal(38, 18)) <> try_cast({stored} as decimal(38, 18)) "
            f"then '{name} has more digits than a double keeps: ' || {v} || ' would be stored as ' || {stored} end"
        )
    if column.type in ("integer", "decimal"):
        reasons.append(f"case when {typed} < 0 then 'negative {name}: ' || {v} end")
    return reasons


def _source_reasons(source: Source, timezone_name: str) -> list[str]:
    return _rules(source.name) + _not_after_landing_day(source, timezone_name)


def _not_after_landing_day(source: Source, timezone_name: str) -> list[str]:
    types = {c.name: c.type for c in source.columns}
    reasons = []
    for name in NOT_AFTER_LANDING_DAY.get(source.name, ()):
        column = ident(name)
        day = f"cast({column} at time zone '{timezone_name}' as date)" if types[name] == "timestamp" else column
        reasons.append(
            f"case when {day} > $landing_date + 1 then '{name} more than one day after landing day: ' "
            f"|| {ident('v_' + name)} || ' landed ' || $landing_date end"
        )
    return reasons


def _rules(source: str) -> list[str]:
    if source == "events":
        return [
            f"case when platform not in ({sql_list(EVENT_PLATFORMS)}) then 'unknown platform: ' || v_platform end",
            *_exposure_rules(),
        ]
    if source == "orders":
        return [
            f"case when status not in ({sql_list(ORDER_STATUSES)}) then 'unknown status: ' || v_status end",
            "case when status in ('paid', 'refunded') and paid_at is null and v_paid_at is null "
            "then 'status ' || status || ' without paid_at' end",
            "case when status = 'refunded' and refunded_at is null and v_refunded_at is null "
            "then 'status refunded without refunded_at' end",
            "case when upper(v_currency) <> 'CNY' then 'currency is not CNY: ' || v_currency end",
            "case when refund_amount > amount "
            "then 'refund_amount above amount: ' || v_refund_amount || ' > ' || v_amount end",
        ]
    if source == "channel_spend":
        return [
            "case when clicks > impressions then 'clicks above impressions: ' || clicks || ' > ' || impressions end"
        ]
    if source == "content":
        return ["case when clicks > exposures then 'clicks above exposures: ' || clicks || ' > ' || exposures end"]
    if source == "kol_posts":
        return ["case when audience_match > 1 then 'audience_match above 1: ' || v_audience_match end"]
    if source in _PLANNING_RULES:
        return _PLANNING_RULES[source]()
    return []


def _exposure_rules() -> list[str]:
    exposure = "event_name = 'experiment_exposure'"
    return [
        f"case when {exposure} and nullif(trim(try(json_extract_string(properties, '$.{key}'))), '') is null "
        f"then 'experiment_exposure without {key} in properties' end"
        for key in ("experiment_id", "variant")
    ]


def _metric_names() -> list[str]:
    return sorted(name for name, metric in load_registry().items() if metric.published)


def _ends_after_start() -> str:
    return "case when end_at <= start_at then 'end_at ' || v_end_at || ' is not after start_at ' || v_start_at end"


def _campaign_rules() -> list[str]:
    scoped = " + ".join(f"(nullif(trim({ident(c)}), '') is not null)::int" for c in CAMPAIGN_SCOPES)
    platforms = "list_filter(string_split(lower(platforms), ','), lambda p: trim(p) <> '')"
    return [
        _ends_after_start(),
        f"case when target_metric not in ({sql_list(_metric_names())}) "
        "then 'unknown target_metric: ' || target_metric end",
        "case when target_value is not null and target_metric is null then 'target_value without target_metric' end",
        f"case when {scoped} > 1 then 'scope in more than one of channels, platforms, regions: "
        "a campaign is measured on one dimension' end",
        f"case when len(list_filter({platforms}, lambda p: trim(p) not in ({sql_list(EVENT_PLATFORMS)}))) > 0 "
        "then 'unknown platform in platforms: ' || platforms end",
    ]


def _target_rules() -> list[str]:
    metrics = load_registry()
    sliceable = [
        f"(metric = {sql_str(name)} and dimension in ({sql_list(metric.dimensions)}))"
        for name, metric in sorted(metrics.items())
        if metric.published and metric.dimensions
    ]
    return [
        "case when period_end < period_start then 'period_end ' || v_period_end || ' before period_start ' "
        "|| v_period_start end",
        f"case when metric not in ({sql_list(_metric_names())}) then 'unknown metric: ' || metric end",
        "case when (dimension is null) <> (dimension_value is null) "
        "then 'dimension and dimension_value must be given together' end",
        f"case when dimension is not null and metric in ({sql_list(_metric_names())}) "
        f"and not ({' or '.join(sliceable) or 'false'}) "
        "then 'metric ' || metric || ' has no slice by ' || dimension end",
    ]


def _experiment_rules() -> list[str]:
    variants = "list_transform(string_split(variants, ','), lambda v: trim(v))"
    weights = "list_transform(string_split(weights, ','), lambda w: trim(w))"
    return [
        _ends_after_start(),
        f"case when len(list_distinct(list_filter({variants}, lambda v: v <> ''))) < 2 "
        f"or len(list_distinct({variants})) <> len({variants}) "
        "then 'variants must be two or more distinct names: ' || variants end",
        f"case when weights is not null and len({weights}) <> len({variants}) "
        "then 'weights ' || weights || ' do not match the variants ' || variants end",
        f"case when weights is not null and len(list_filter({weights}, "
        f"lambda w: coalesce(try_cast(w as double), 0) <= 0 or not regexp_full_match(w, {sql_str(NUMBER_TEXT)}))) > 0 "
        "then 'weights must be positive numbers: ' || weights end",
        f"case when primary_metric not in ({sql_list(EXPERIMENT_METRICS)}) "
        "then 'unknown primary_metric: ' || primary_metric end",
    ]


_PLANNING_RULES = {"campaigns": _campaign_rules, "targets": _target_rules, "experiments": _experiment_rules}
