"""The Data Docs page: one static HTML page with the latest result of every suite, readable offline.

Great Expectations' own Data Docs load Bootstrap, jQuery and bootstrap-table from CDNs and fill
their index with JavaScript: without internet the index is an empty list. This page is plain HTML
with its styles inline and no script: every suite, every expectation, passed or failed, observed
against expected, and where the failing rows are (the table, the day, the platform, the event...).

The latest result of each suite is kept as JSON beside the page (results/<suite>.json), so the
page lists every suite, whichever op or run validated it last, and says when and for which days.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from html import escape
from pathlib import Path

from ops_pipeline.quality.params import RunWindow, range_label
from ops_pipeline.quality.results import ExpectationResult
from ops_pipeline.quality.suites import Suite

INDEX = "index.html"
RESULTS = "results"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
section { border-top: 2px solid #d0d7de; margin-top: 1.5em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: 600; }
.passed { color: #1a7f37; font-weight: 600; }
.failed { color: #cf222e; font-weight: 600; }
tr.failing td { background: #ffebe9; }
.days { white-space: nowrap; }
code { font-size: 90%; }
"""


def suite_anchor(name: str) -> str:
    return f"suite-{name}"


def suite_url(docs_dir: Path, suite_name: str) -> str:
    """file:// URL of a suite's section of the page."""
    return f"{(Path(docs_dir) / INDEX).resolve().as_uri()}#{suite_anchor(suite_name)}"


def write_suite_results(
    docs_dir: Path, suite: Suite, window: RunWindow, outcomes: list[ExpectationResult], checked_at: datetime
) -> None:
    """Keep a suite's latest result for the page (replacing the one before)."""
    dates = suite.dates_checked(window)
    record = {
        "suite": suite.name,
        "file": f"expectations/{suite.name.split('.')[0]}.yml",
        "check_keys": suite.check_keys,
        "blocking": suite.blocking,
        "description": suite.description,
        "landing_days": window.label,
        "dates_checked": "all dates" if dates is None else range_label(*dates),
        "checked_at": checked_at.isoformat(timespec="seconds"),
        "expectations": [asdict(outcome) for outcome in outcomes],
    }
    _write(Path(docs_dir) / RESULTS / f"{suite.name}.json", json.dumps(record, default=str, ensure_ascii=False))


def render_index(docs_dir: Path) -> Path:
    """(Re)write index.html from every suite's latest result."""
    docs_dir = Path(docs_dir)
    records = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((docs_dir / RESULTS).glob("*.json"))]
    path = docs_dir / INDEX
    _write(path, page(records))
    return path


def page(records: list[dict]) -> str:
    expectations = [e for r in records for e in r["expectations"]]
    failed_suites = sum(not _passed(r) for r in records)
    failed = sum(not e["success"] for e in expectations)
    overview = "".join(
        f'<tr{_row_class(r)}><td><a href="#{escape(suite_anchor(r["suite"]))}">{escape(r["suite"])}</a></td>'
        f"<td>{escape(_checks(r))}</td><td>{_kind(r)}</td><td class=days>{escape(r['landing_days'])}</td>"
        f"<td class=days>{escape(r['dates_checked'])}</td>"
        f'<td class="{_status(r)}">{_status(r).upper()}</td>'
        f"<td>{sum(e['success'] for e in r['expectations'])} of {len(r['expectations'])}</td></tr>"
        for r in records
    )
    body = (
        "<h1>Data quality: the Great Expectations suites</h1>"
        f'<p id="totals">The latest result of each suite: {len(records)} suites, {failed_suites} failed; '
        f"{len(expectations)} expectations, {failed} failed.</p>"
        + (
            "<table id=overview><tr><th>suite</th><th>checks</th><th>kind</th><th>landing days</th>"
            f"<th>dates checked</th><th>result</th><th>expectations passed</th></tr>{overview}</table>"
            if records
            else "<p>No suite has run yet.</p>"
        )
        + "".join(_section(r) for r in records)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Data quality checks</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _section(record: dict) -> str:
    status = _status(record)
    rows = "".join(_row(e) for e in record["expectations"])
    return (
        f'<section id="{escape(suite_anchor(record["suite"]))}" data-suite="{escape(record["suite"])}" '
        f'data-result="{status}"><h2>{escape(record["suite"])} <span class="{status}">{status.upper()}</span></h2>'
        f"<p>{escape(record['description'])}</p><dl>"
        f"<dt>checks</dt><dd>{escape(_checks(record))}</dd>"
        f"<dt>kind</dt><dd>{_kind(record)}</dd>"
        f"<dt>landing days</dt><dd>{escape(record['landing_days'])}</dd>"
        f"<dt>dates checked</dt><dd>{escape(record['dates_checked'])}</dd>"
        f"<dt>checked at</dt><dd>{escape(record['checked_at'])}</dd>"
        f"<dt>suite file</dt><dd><code>{escape(record['file'])}</code></dd></dl>"
        "<table><tr><th>table</th><th>expectation</th><th>column</th><th>result</th><th>observed</th>"
        f"<th>expected</th><th>unexpected rows</th><th>where it failed</th></tr>{rows}</table></section>"
    )


def _row(e: dict) -> str:
    status = "passed" if e["success"] else "failed"
    unexpected = "" if e["unexpected_count"] is None else f"{e['unexpected_count']:,}"
    return (
        f'<tr{"" if e["success"] else " class=failing"} data-result="{status}" '
        f'data-expectation="{escape(e["expectation"])}">'
        f"<td>{escape(e['asset'].replace('/', '.'))}</td><td>{escape(e['expectation'])}</td>"
        f'<td>{escape(e["column"])}</td><td class="{status}">{status.upper()}</td>'
        f"<td>{escape(e['observed'])}</td><td>{escape(e['expected'])}</td><td>{unexpected}</td>"
        # the failure lines say where: at most 20 failing rows and a count of the rest (results.py)
        f"<td>{'<br>'.join(escape(line) for line in e['messages'])}</td></tr>"
    )


def _passed(record: dict) -> bool:
    return all(e["success"] for e in record["expectations"])


def _status(record: dict) -> str:
    return "passed" if _passed(record) else "failed"


def _kind(record: dict) -> str:
    return "blocking" if record["blocking"] else "warning"


def _row_class(record: dict) -> str:
    return "" if _passed(record) else " class=failing"


def _checks(record: dict) -> str:
    """'check on asset, asset': the check(s) the suite reports to."""
    assets: dict[str, list[str]] = {}
    for asset, check in record["check_keys"]:
        assets.setdefault(check, []).append(asset)
    return "; ".join(f"{check} on {', '.join(names)}" for check, names in assets.items())


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
