"""Landing deadlines: a source whose landing day has not landed in time raises one `pipeline` alert.

Landing day D of a source is due at its deadline on D + 1, in the reporting
time zone (monitors.yml, `freshness`: a default and per-source times, `off` for
a source not watched). A source that never landed a file is not in use and is
not watched; nor are the sparse planning sources. The alert id is the source
and the day, so each missing day is announced once, however often the sensor
looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml

from ops_pipeline import landing
from ops_pipeline.alerts import outbox
from ops_pipeline.alerts.announcements import enqueue
from ops_pipeline.alerts.delivery import SlackTarget
from ops_pipeline.alerts.message import asset_url, render
from ops_pipeline.alerts.monitors import MonitorConfigError
from ops_pipeline.alerts.outbox import LATE_SOURCE, Alert
from ops_pipeline.contract import SOURCES, SPARSE_SOURCES
from ops_pipeline.settings import Settings

DEFAULT_DEADLINE = time(10, 0)


def load_deadlines(monitors_file: str | Path) -> dict[str, time]:
    """Each watched source's deadline, from the `freshness` section of the monitors file."""
    where = f"{monitors_file}: freshness"
    section = (yaml.safe_load(Path(monitors_file).read_text(encoding="utf-8")) or {}).get("freshness") or {}
    if not isinstance(section, Mapping):
        raise MonitorConfigError(f"{where} must be a mapping")
    unknown = set(section.get("sources") or {}) - set(SOURCES)
    if unknown:
        raise MonitorConfigError(
            f"{where}: unknown source(s) {', '.join(sorted(unknown))}; known: {', '.join(SOURCES)}"
        )
    default = _time(section.get("deadline", DEFAULT_DEADLINE.strftime("%H:%M")), f"{where}: deadline")
    by_source = {name: default for name in SOURCES if name not in SPARSE_SOURCES}
    for name, value in (section.get("sources") or {}).items():
        by_source[name] = _time(value, f"{where}: sources: {name}")
    return {name: deadline for name, deadline in by_source.items() if deadline is not None}


def _time(value: object, where: str) -> time | None:
    if value in (False, "off", None):
        return None
    if isinstance(value, int):  # YAML reads an unquoted 10:00 as 600 (minutes, base 60)
        value = f"{value // 60:02d}:{value % 60:02d}"
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise MonitorConfigError(f"{where}: expected HH:MM or off, got {value!r}") from None


def due_day(now: datetime, deadline: time) -> date:
    """The latest landing day due by `now` (a time in the reporting zone)."""
    return now.date() - timedelta(days=1 if now.time() >= deadline else 2)


def missing_sources(settings: Settings, now: datetime) -> list[tuple[str, date, time]]:
    """(source, landing day, deadline) of each watched source whose latest due day has no file."""
    days = landing.scan(settings.landing_dir, timezone=settings.timezone).by_source_day()
    missing = []
    for source, deadline in load_deadlines(settings.monitors_file).items():
        landed = days.get(source)
        day = due_day(now, deadline)
        # Not in use (never landed), or the history starts after the day: nothing is late.
        if landed and min(landed) <= day and day not in landed:
            missing.append((source, day, deadline))
    return missing


def late_source_alert(source: str, day: date, deadline: time, landing_dir: Path, base_url: str) -> Alert:
    alert = Alert(
        alert_id=outbox.alert_id(LATE_SOURCE, source, day),
        kind=LATE_SOURCE,
        monitor=f"freshness:{source}",
        label=f"{source} for {day} has not landed (due {day + timedelta(days=1)} {deadline:%H:%M})",
        severity="critical",
        date=day,
        likely_cause="pipeline",
        cause_reasons=[
            f"no file {landing_dir / source / f'{day}*'} by the deadline",
            "the metrics of that day would be incomplete: check the export that delivers this source",
        ],
        link=asset_url(base_url, ["landing", source]),
    )
    return render(alert)


def late_source_alerts(settings: Settings, now: datetime) -> list[Alert]:
    """Raise the alerts of the sources late at `now`; those raised for the first time. Raises WarehouseBusy."""
    alerts = [
        late_source_alert(source, day, deadline, settings.landing_dir, settings.dagster_url)
        for source, day, deadline in missing_sources(settings, now)
    ]
    if not alerts:
        return []
    return [a for a in enqueue(settings.warehouse, alerts, SlackTarget.from_settings(settings)) if a.new]
