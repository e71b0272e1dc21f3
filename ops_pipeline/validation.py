"""The generated statement that types and validates a file's rows against the contract.

One SELECT over _src yields the typed contract columns, the extra columns as
JSON, __reason: every contract rule the row breaks, as 'kind: detail' texts
joined by '; ', NULL when none, and __record: for the rows with a reason only,
the file's row as JSON (personal data hashed), which raw.quarantine keeps.
"""

from __future__ import annotations

from ops_pipeline.contract import EVENT_PLATFORMS, ORDER_STATUSES, PERSONAL_COLUMNS, Column, Source
from ops_pipeline.sqltext import ident, pairs, sql_list, sql_str


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
    extras = [name for key, name in file_columns.items() if key not in source.column_names]
    extra = f"json_object({pairs(extras)})" if extras else "cast(null as varchar)"
    cleaned.append(f"{extra} as __extra")
    # The file's own values, carried along for the record of a rejected row.
    raw = {key: ident("raw_" + name) for key, name in file_columns.items()}
    cleaned += [f"{ident(name)} as {raw[key]}" for key, name in file_columns.items()]
    record_pairs = ", ".join(
        f"{sql_str(name)}, " + (f"sha256($salt || {raw[key]})" if key in personal else raw[key])
        for key, name in file_columns.items()
    )
    record = f"json_object({record_pairs})" if record_pairs else "'{}'"

    typed = ", ".join(f"{_typed_value(c)} as {ident(c.name)}" for c in source.columns)
    reasons = [r for c in source.columns for r in _column_reasons(c)] + _source_reasons(source.name, timezone_name)
    names = ", ".join(ident(c.name) for c in source.columns)
    return (
        f"with cleaned as (select {', '.join(cleaned)} from _src),"
        f" typed as (select *, {typed} from cleaned),"
        f" checked as (select *, nullif(concat_ws('; ', {', '.join(reasons)}), '') as __reason from typed)"
        f" select __row, {names}, __extra, __reason,"
        f" case when __reason is not null then {record} end as __record from checked"
    )


def _typed_value(column: Column) -> str:
    v = ident("v_" + column.name)
    if column.name == "platform" or column.name == "status":
        return f"lower({v})"
    return {
        "string": v,
        "json": v,
        "timestamp": f"try_cast({v} as timestamptz)",
        "date": f"try_cast({v} as date)",
        "integer": f"try_cast({v} as bigint)",
        "decimal": f"case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end",
        "float": f"case when isfinite(try_cast({v} as double)) then try_cast({v} as double) end",
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
    if column.type in ("integer", "decimal"):
        reasons.append(f"case when {typed} < 0 then 'negative {name}: ' || {v} end")
    return reasons


def _source_reasons(source: str, timezone_name: str) -> list[str]:
    if source == "events":
        return [
            f"case when platform not in ({sql_list(EVENT_PLATFORMS)}) then 'unknown platform: ' || v_platform end",
            f"case when cast(event_time at time zone '{timezone_name}' as date) > $landing_date + 1 "
            "then 'event_time more than one day after landing day: ' || v_event_time "
            "|| ' landed ' || $landing_date end",
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
    return []
