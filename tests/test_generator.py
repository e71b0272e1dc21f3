"""The sample generator writes what docs/sources.md promises, exactly as its manifest says."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ops_pipeline.contract import EVENT_PLATFORMS, SOURCES
from ops_pipeline.generator import INCIDENTS, Incident, generate

START = date(2026, 3, 2)
SHANGHAI = timezone(timedelta(hours=8))
FORMATS = {
    "events": {"csv", "jsonl"},
    "orders": {"csv"},
    "users": {"jsonl"},
    "channel_spend": {"csv"},
    "kol_posts": {"parquet"},
    "content": {"csv"},
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, START, 14, 1500, seed=11)


@pytest.fixture(scope="module")
def incident_pair(tmp_path_factory) -> tuple[Path, dict, Path, dict]:
    """The same world with and without all three incidents (days before them are identical)."""
    base, hit = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("hit")
    kwargs = dict(start=START, days=40, users=5000, seed=3)
    return (
        base,
        generate(base, **kwargs),
        hit,
        generate(hit, **kwargs, incidents=["ios_pay_tracking_outage", "channel_conversion_drop", "kol_viral"]),
    )


# ---------------------------------------------------------------- reading helpers


def read_file(path: Path) -> list[dict]:
    """Rows with lower-cased keys; '' in CSV is read as null."""
    if path.suffix == ".parquet":
        return [{k.lower(): v for k, v in r.items()} for r in pq.read_table(path).to_pylist()]
    if path.suffix == ".jsonl":
        return [
            {k.lower(): v for k, v in json.loads(line).items()}
            for line in path.read_text(encoding="utf-8").splitlines()
            if line
        ]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k.lower(): (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(f)]


def files(out: Path, source: str) -> list[Path]:
    return sorted(p for p in (out / source).iterdir())


def landing_day(path: Path) -> date:
    return date.fromisoformat(path.name[:10])


def parse_ts(value) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)  # naive means UTC


def shanghai_day(value) -> date:
    return parse_ts(value).astimezone(SHANGHAI).date()


def all_rows(out: Path, source: str) -> list[tuple[Path, dict]]:
    return [(path, row) for path in files(out, source) for row in read_file(path)]


# ---------------------------------------------------------------- an independent contract checker


def _parses(value, kind: str) -> bool:
    if value is None or not isinstance(value, str):
        return True  # typed Parquet values and nulls are fine type-wise
    try:
        {
            "timestamp": datetime.fromisoformat,
            "date": date.fromisoformat,
            "integer": int,
            "decimal": float,
            "float": float,
        }.get(kind, str)(value)
    except ValueError:
        return False
    return True


def defects(source: str, row: dict, landing: date) -> set[str]:
    found = set()
    columns = SOURCES[source].columns
    if any(row.get(c.name) is None for c in columns if c.required):
        found.add("missing_required")
    if not all(_parses(row.get(c.name), c.type) for c in columns):
        found.add("wrong_type")
        return found
    number = lambda name: None if row.get(name) is None else float(row[name])  # noqa: E731
    if source == "events":
        if row["platform"] is not None and row["platform"] not in EVENT_PLATFORMS:
            found.add("unknown_platform")
        limit = datetime.combine(landing + timedelta(days=2), datetime.min.time(), SHANGHAI)
        if row["event_time"] is not None and parse_ts(row["event_time"]) > limit:
            found.add("future_event")
    for money in ("amount", "spend", "fee"):
        if money in row and row[money] is not None and number(money) < 0:
            found.add("negative_money")
    if source in ("channel_spend", "content"):
        shown = "impressions" if source == "channel_spend" else "exposures"
        if None not in (row["clicks"], row[shown]) and number("clicks") > number(shown):
            found.add("clicks_above_impressions")
    if source == "orders":
        if row["currency"] not in (None, "CNY"):
            found.add("non_cny_currency")
        if (row["status"] in ("paid", "refunded") and row["paid_at"] is None) or (
            row["status"] == "refunded" and row["refunded_at"] is None
        ):
            found.add("status_without_timestamp")
        if None not in (row["refund_amount"], row["amount"]) and number("refund_amount") > number("amount"):
            found.add("refund_above_amount")
    return found


# ---------------------------------------------------------------- determinism


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_identical_bytes_and_another_seed_does_not(small, tmp_path):
    out, manifest = small
    again = generate(tmp_path / "again", START, 14, 1500, seed=11)
    assert again == manifest
    assert _digest(tmp_path / "again") == _digest(out)
    generate(tmp_path / "other", START, 14, 1500, seed=12)
    mine, other = _digest(out), _digest(tmp_path / "other")
    assert set(other) & set(mine)
    assert sum(other[n] != mine[n] for n in set(other) & set(mine)) > 0.9 * len(set(other) & set(mine))


# ---------------------------------------------------------------- layout and formats


def test_every_source_has_a_file_per_day_in_its_formats(small):
    out, manifest = small
    days = [START + timedelta(days=i) for i in range(14)]
    for source, formats in FORMATS.items():
        paths = files(out, source)
        assert {p.name.split(".", 1)[1] for p in paths} == formats, source
        assert {landing_day(p) for p in paths} == set(days), source
    late = [p.name for p in files(out, "events") if p.name.endswith("_late.jsonl")]
    assert len(late) == 13 and f"{START}_late.jsonl" not in late  # nothing arrives late on the first day
    assert any(p.name.endswith("_restated.csv") for p in files(out, "channel_spend"))
    assert manifest["date_range"] == {"first": str(days[0]), "last": str(days[-1])}


def test_csv_headers_follow_the_contract_up_to_case_and_extra_columns(small):
    out, manifest = small
    seen_quirks = set()
    for source in ("events", "orders", "channel_spend", "content"):
        for path in files(out, source):
            if path.suffix != ".csv":
                continue
            raw = path.read_bytes()
            header = next(csv.reader([raw.decode("utf-8-sig").splitlines()[0]]))
            assert set(SOURCES[source].column_names) <= {h.lower() for h in header}
            quirks = manifest["file_quirks"].get(f"{source}/{path.name}", [])
            seen_quirks.update(q.split(":")[0] for q in quirks)
            assert raw.startswith(b"\xef\xbb\xbf") == ("bom" in quirks)
            if "header_case" in quirks:
                assert "Event_ID" in header or "Order_ID" in header
            read_file(path)  # parseable as CSV throughout
    assert {"bom", "header_case", "extra_column", "column_order"} <= seen_quirks
    titles = [r["title"] for _, r in all_rows(out, "content")]
    assert any("," in t for t in titles) and any('"' in t for t in titles)  # quoting exercised
    assert any("\u4e00" <= ch <= "\u9fff" for t in titles for ch in t)


def test_timestamp_conventions_per_source(small):
    out, _ = small
    event = read_file(files(out, "events")[0])[0]
    order = next(r for _, r in all_rows(out, "orders") if r["created_at"] and r["created_at"][:4] == "2026")
    user = next(r for _, r in all_rows(out, "users") if r["registered_at"] and r["registered_at"][:2] == "20")
    assert event["event_time"].endswith("Z")
    assert order["created_at"].endswith("+08:00")
    assert datetime.fromisoformat(user["registered_at"]).tzinfo is None
    assert str(pq.read_schema(files(out, "kol_posts")[0]).field("published_at").type) == "timestamp[ms, tz=UTC]"


# ---------------------------------------------------------------- the manifest tells the truth


def test_manifest_row_counts_match_the_files(small):
    out, manifest = small
    by_day = defaultdict(lambda: defaultdict(int))
    for source in manifest["rows"]:
        for path in files(out, source):
            rows = len(read_file(path))
            assert manifest["files"][f"{source}/{path.name}"] == rows
            by_day[source][str(landing_day(path))] += rows
    assert {s: dict(d) for s, d in by_day.items()} == manifest["rows"]


def test_bad_rows_are_of_every_kind_and_exactly_as_counted(small):
    out, manifest = small
    found: dict[str, Counter] = defaultdict(Counter)
    for source in manifest["rows"]:
        for path, row in all_rows(out, source):
            kinds = defects(source, row, landing_day(path))
            assert len(kinds) <= 1, (path.name, row, kinds)  # one defect per bad row: countable
            found[source].update(kinds)
    assert {s: dict(c) for s, c in found.items() if c} == {s: k for s, k in manifest["bad_rows"].items() if k}
    expected_kinds = {
        "events": {"missing_required", "wrong_type", "unknown_platform", "future_event"},
        "orders": {
            "missing_required",
            "wrong_type",
            "negative_money",
            "status_without_timestamp",
            "non_cny_currency",
            "refund_above_amount",
        },
        "users": {"missing_required", "wrong_type"},
        "channel_spend": {"missing_required", "wrong_type", "negative_money", "clicks_above_impressions"},
        "kol_posts": {"missing_required", "wrong_type", "negative_money"},
        "content": {"missing_required", "wrong_type", "clicks_above_impressions"},
    }
    assert {s: set(k) for s, k in manifest["bad_rows"].items()} == expected_kinds
    events = sum(manifest["rows"]["events"].values())
    assert 0.001 < sum(manifest["bad_rows"]["events"].values()) / events < 0.004


def test_sdk_retries_resend_identical_rows(small):
    out, manifest = small
    by_id = defaultdict(list)
    for _, row in all_rows(out, "events"):
        if row["event_id"] is None:  # a bad row missing its id
            continue
        by_id[row["event_id"]].append({c: row.get(c) for c in SOURCES["events"].column_names})
    repeats = {k: v for k, v in by_id.items() if len(v) > 1}
    assert sum(len(v) - 1 for v in repeats.values()) == manifest["duplicate_events"] > 0
    assert all(all(copy == v[0] for copy in v) for v in repeats.values())


def test_late_files_hold_events_of_the_previous_business_day(small):
    out, manifest = small
    late = [(p, r) for p, r in all_rows(out, "events") if p.name.endswith("_late.jsonl")]
    assert late and all(shanghai_day(r["event_time"]) == landing_day(p) - timedelta(days=1) for p, r in late)
    assert manifest["late_events"] <= len(late) < manifest["late_events"] + manifest["duplicate_events"] + 1
    for path, row in all_rows(out, "events"):  # on-time events sit in the file of their Shanghai day
        if path.suffix == ".csv" and not defects("events", row, landing_day(path)):
            assert shanghai_day(row["event_time"]) == landing_day(path)


def test_order_status_changes_arrive_as_later_rows(small):
    out, _ = small
    history = defaultdict(list)
    for path, row in all_rows(out, "orders"):
        if not defects("orders", row, landing_day(path)):
            history[row["order_id"]].append((landing_day(path), row))
    changed = {k: v for k, v in history.items() if len(v) > 1}
    statuses = Counter(v[-1][1]["status"] for v in changed.values())
    assert statuses["cancelled"] > 0 and statuses["refunded"] > 0
    for rows in changed.values():
        (first_day, first), (later_day, later) = rows[0], rows[-1]
        assert first["status"] in ("created", "paid") and later_day > first_day
        assert parse_ts(later["updated_at"]) > parse_ts(first["updated_at"])
        if later["status"] == "refunded":
            assert later["paid_at"] and 0 < float(later["refund_amount"]) <= float(later["amount"])
    share_cancelled = statuses["cancelled"] / len(history)
    assert 0.01 < share_cancelled < 0.1


def test_sign_up_is_the_first_event_with_the_user_id_and_matches_users(small):
    out, manifest = small
    users = {r["user_id"]: r for p, r in all_rows(out, "users") if not defects("users", r, landing_day(p))}
    assert manifest["backfilled_users"]["rows"] > 0
    first_seen: dict[str, tuple] = {}
    for path, row in all_rows(out, "events"):
        if row["user_id"] and not defects("events", row, landing_day(path)):
            key = (parse_ts(row["event_time"]), row["event_name"] != "register")
            first_seen[row["user_id"]] = min(first_seen.get(row["user_id"], key), key)
    signups = [u for u, (_, not_register) in first_seen.items() if not not_register]
    assert len(signups) > 50
    for user_id in signups:
        assert parse_ts(users[user_id]["registered_at"]) == first_seen[user_id][0].replace(microsecond=0)
    assert all(u in users for u in first_seen)  # every user_id on events has an account row


def test_tracked_payments_are_about_97_percent_of_paid_orders(small):
    out, _ = small
    pays = sum(1 for _, r in all_rows(out, "events") if r["event_name"] == "pay_success")
    paid = {
        r["order_id"] for p, r in all_rows(out, "orders") if r["paid_at"] and not defects("orders", r, landing_day(p))
    }
    assert 0.93 < pays / len(paid) < 1.0


# ---------------------------------------------------------------- incidents


def _daily(out: Path, source: str, predicate, day_of, landing: tuple[date, date] | None = None) -> Counter:
    """Good rows matching predicate, counted by day_of(path, row); only files landing in [first, last]."""
    counts = Counter()
    for path in files(out, source):
        if landing and not landing[0] <= landing_day(path) <= landing[1]:
            continue
        for row in read_file(path):
            if not defects(source, row, landing_day(path)) and predicate(row):
                counts[day_of(path, row)] += 1
    return counts


def _window(manifest: dict, name: str) -> list[date]:
    incident = next(i for i in manifest["incidents"] if i["name"] == name)
    first, last = date.fromisoformat(incident["start"]), date.fromisoformat(incident["end"])
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_ios_outage_loses_tracked_payments_but_not_orders(incident_pair):
    _, _, hit, manifest = incident_pair
    days = _window(manifest, "ios_pay_tracking_outage")
    assert len(days) == 2 and (days[0] - START).days >= 35
    before = [days[0] - timedelta(days=i) for i in range(1, 8)]
    landing = (before[-1], days[-1] + timedelta(days=1))  # the day after holds the last day's late events
    ios_pays = _daily(
        hit,
        "events",
        lambda r: r["event_name"] == "pay_success" and r["platform"] == "ios",
        lambda p, r: shanghai_day(r["event_time"]),
        landing,
    )
    paid = _daily(hit, "orders", lambda r: r["status"] == "paid", lambda p, r: shanghai_day(r["paid_at"]), landing)
    mean = lambda counts, ds: sum(counts[d] for d in ds) / len(ds)  # noqa: E731
    assert mean(ios_pays, days) < 0.1 * mean(ios_pays, before)
    assert 0.8 < mean(paid, days) / mean(paid, before) < 1.25


def test_channel_drop_halves_that_channels_sign_ups(incident_pair):
    base, _, hit, manifest = incident_pair
    days = _window(manifest, "channel_conversion_drop")
    incident = next(i for i in manifest["incidents"] if i["name"] == "channel_conversion_drop")
    assert incident["slice"] == {"channel": "wechat_ads"} and incident["expected_cause"] == "business"

    def signups(out, channel):
        counts = _daily(out, "users", lambda r: r["channel"] == channel, lambda p, r: shanghai_day(r["registered_at"]))
        return sum(counts[d] for d in days)

    assert abs(signups(hit, "wechat_ads") - signups(base, "wechat_ads") / 2) <= len(days)
    assert signups(base, "wechat_ads") >= 10
    assert signups(hit, "douyin_ads") == signups(base, "douyin_ads")
    spend = lambda out: sorted(str(sorted(r.items())) for _, r in all_rows(out, "channel_spend"))  # noqa: E731
    assert spend(hit) == spend(base)  # the ad platform bills the same


def test_kol_viral_multiplies_views_and_brings_sign_ups_with_its_code(incident_pair):
    base, _, hit, manifest = incident_pair
    incident = next(i for i in manifest["incidents"] if i["name"] == "kol_viral")
    code, start = incident["slice"]["campaign_id"], date.fromisoformat(incident["start"])
    views = {
        landing_day(p): r["views"]
        for p, r in all_rows(hit, "kol_posts")
        if r["campaign_id"] == code and r["post_id"] and isinstance(r["views"], int)
    }
    assert views[start] > 5 * views[start - timedelta(days=1)]
    assert views[start + timedelta(days=2)] > 9 * views[start - timedelta(days=1)]
    window = set(_window(manifest, "kol_viral"))

    def with_code(out):
        return sum(
            _daily(out, "users", lambda r: r["campaign_id"] == code, lambda p, r: shanghai_day(r["registered_at"]))[d]
            for d in window
        )

    assert with_code(hit) >= with_code(base) + 15


def test_days_before_incidents_are_untouched(incident_pair):
    base, _, hit, manifest = incident_pair
    first = min(date.fromisoformat(i["start"]) for i in manifest["incidents"])
    for day in range((first - START).days):
        name = f"{START + timedelta(days=day)}.csv"
        assert (base / "events" / name).read_bytes() == (hit / "events" / name).read_bytes()


def test_incident_names_and_parameters_are_validated(tmp_path):
    with pytest.raises(ValueError, match="kol_viral"):
        generate(tmp_path, START, 40, 300, incidents=["server_on_fire"])
    with pytest.raises(ValueError, match="unknown channel"):
        generate(tmp_path, START, 40, 300, incidents=["channel_conversion_drop:tiktok_ads"])
    with pytest.raises(ValueError, match="more than once"):
        generate(tmp_path, START, 40, 300, incidents=["kol_viral", "kol_viral@2026-04-01"])
    with pytest.raises(ValueError, match="at least"):
        generate(tmp_path, START, 20, 300, incidents=["ios_pay_tracking_outage"])
    assert set(INCIDENTS) == {"ios_pay_tracking_outage", "channel_conversion_drop", "kol_viral"}
    parsed = Incident.parse("channel_conversion_drop:douyin_ads@2026-04-01")
    assert (parsed.name, parsed.param, parsed.start) == ("channel_conversion_drop", "douyin_ads", date(2026, 4, 1))


def test_explicit_incident_day_and_channel_are_used(tmp_path):
    manifest = generate(
        tmp_path,
        START,
        12,
        400,
        incidents=[
            "channel_conversion_drop:douyin_ads@2026-03-05",
            Incident("ios_pay_tracking_outage", date(2026, 3, 10)),
        ],
    )
    assert [(i["name"], i["start"], i["end"], i["slice"]) for i in manifest["incidents"]] == [
        ("channel_conversion_drop", "2026-03-05", "2026-03-07", {"channel": "douyin_ads"}),
        ("ios_pay_tracking_outage", "2026-03-10", "2026-03-11", {"platform": "ios", "event_name": "pay_success"}),
    ]
    assert manifest["params"]["incidents"] == [
        "channel_conversion_drop:douyin_ads@2026-03-05",
        "ios_pay_tracking_outage@2026-03-10",
    ]


def test_the_planning_sources_and_their_effects_are_written_and_told(tmp_path):
    """plan=True: campaigns (a plan, then its final snapshot with costs), experiments and targets, each
    first file with one row that breaks the contract; exposure events name a declared variant; the same
    world without a plan has the same visitors."""
    manifest = generate(tmp_path / "plan", START, 90, 300, seed=11, plan=True)
    plain = generate(tmp_path / "plain", START, 90, 300, seed=11)
    assert {"campaigns", "targets", "experiments"} <= set(manifest["rows"]) and "campaigns" not in plain["rows"]
    campaigns = sorted((tmp_path / "plan" / "campaigns").glob("*.csv"))
    first, final = (list(csv.DictReader(p.read_text(encoding="utf-8").splitlines())) for p in campaigns)
    assert len(first) == 3 and len(final) == 2  # the plan with its bad row, then the snapshot
    assert [r["end_at"] == r["start_at"] for r in first] == [False, False, True]
    assert all(r["cost"] == "" for r in first) and all(float(r["cost"]) > 0 for r in final)
    assert manifest["bad_rows"]["campaigns"] == {"end_before_start": 1}
    assert manifest["bad_rows"]["experiments"] == {"weights_mismatch": 1}
    assert manifest["bad_rows"]["targets"] == {"unknown_metric": 1}
    variants = {e["experiment_id"]: set(e["assigned"]) for e in manifest["plan"]["experiments"]}
    exposures = [
        json.loads(r["properties"])
        for _, r in all_rows(tmp_path / "plan", "events")
        if r["event_name"] == "experiment_exposure"
    ]
    assert exposures and all(e["variant"] in variants[e["experiment_id"]] for e in exposures)
    assert {e["experiment_id"] for e in exposures} == set(variants)
    assert manifest["population"] == plain["population"]
    [promotion] = [c for c in manifest["plan"]["campaigns"] if c["scope"] != "all"]
    assert 1.0 < promotion["realised_order_lift"] <= 2.0
