"""build_week: the one function the CLI, the Dagster asset and the demo call to write a week's report."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ops_pipeline.settings import Settings
from ops_pipeline.warehouse import open_warehouse
from ops_pipeline.weekly.data import WeeklyData, weekly_data
from ops_pipeline.weekly.render import render_html, write_pdf
from ops_pipeline.weekly.summary import highlights
from ops_pipeline.weekly.weeks import Week, WeekError, last_complete_week


@dataclass
class WeeklyReport:
    week: Week
    html: Path
    pdf: Path
    highlights: list[str]
    seconds: float
    data: WeeklyData = field(repr=False)


def report_dir(settings: Settings) -> Path:
    return settings.reports_path / "weekly"


def build_week(settings: Settings, week: Week) -> WeeklyReport:
    """Read the week's sections from the marts and write <reports>/weekly/<week>.html and .pdf
    (each replaced at once, never half-written). WeekError when the warehouse does not hold the week."""
    started = time.perf_counter()
    if not settings.warehouse.exists():
        raise WeekError(f"no warehouse at {settings.warehouse}: run `ops-pipeline run` (or demo) first")
    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=60.0) as conn:
        data = weekly_data(conn, week, str(settings.warehouse))
    html = render_html(data, settings.timezone, settings.warehouse.name)
    folder = report_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = folder / f"{week}.html", folder / f"{week}.pdf"
    _replace(html_path, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    _replace(pdf_path, lambda tmp: write_pdf(html, tmp))
    return WeeklyReport(week, html_path, pdf_path, highlights(data), time.perf_counter() - started, data)


def latest_week(settings: Settings) -> Week:
    """The last complete week of the warehouse's marts."""
    with open_warehouse(settings.warehouse, read_only=True, wait_seconds=60.0) as conn:
        first, last = conn.execute("select min(date), max(date) from marts.kpi_daily").fetchone()
    if last is None:
        raise WeekError(f"{settings.warehouse} has no business dates yet")
    week = last_complete_week(last)
    if week.start < first:
        raise WeekError(f"{settings.warehouse} holds {first} .. {last}: no complete ISO week (Monday to Sunday) yet")
    return week


def _replace(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
