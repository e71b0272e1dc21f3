"""WeeklyData -> one self-contained HTML file (Jinja2, charts as data URIs) -> PDF (WeasyPrint,
which embeds the subset of the CJK font the text uses)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ops_pipeline.weekly import charts
from ops_pipeline.weekly.data import WeeklyData
from ops_pipeline.weekly.summary import delta, direction, highlights, money, percent, value

TEMPLATES = Path(__file__).parent  # report.html.j2
MONEY_METRICS = frozenset({"paid_gmv", "gmv", "net_revenue", "refund_amount", "spend"})


def _fmt(number, style: str = "number", metric: str | None = None) -> str:
    return money(number) if metric in MONEY_METRICS else value(number, style)


def _fixed(number, digits: int = 2) -> str:
    return "–" if number is None else f"{number:,.{digits}f}"


def _money2(number) -> str:
    return "–" if number is None else f"¥{number:,.2f}"


def _signed(number) -> str:
    return "–" if number is None else f"{number:+.1%}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined
    )
    env.globals.update(
        fmt=_fmt,
        fixed=_fixed,
        money=money,
        money2=_money2,
        signed=_signed,
        percent=percent,
        delta=delta,
        direction=direction,
    )
    return env


def render_html(data: WeeklyData, timezone: str, warehouse_name: str) -> str:
    images = {
        "trends": charts.trends(data.headline.figures),
        "funnel": charts.funnel(data.funnel),
        "retention": charts.retention(data.retention),
        "roas": charts.roas(data.acquisition),
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            d=data,
            charts=images,
            highlights=highlights(data),
            timezone=timezone,
            warehouse_name=warehouse_name,
            built_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML  # here: importing WeasyPrint loads Pango, which only the PDF needs

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)
