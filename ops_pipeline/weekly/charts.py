"""The report's charts: matplotlib figures as SVG data URIs, drawn from the section objects.

Text in the SVGs is drawn as paths (svg.fonttype 'path'), so a chart looks the same in any
browser and in the PDF; the CJK font (Noto Sans CJK, Debian's fonts-noto-cjk) is registered with
matplotlib's font manager from the file fontconfig finds.
"""

from __future__ import annotations

import base64
import io
import subprocess
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

from ops_pipeline.metrics.registry import format_number
from ops_pipeline.weekly.acquisition import Acquisition
from ops_pipeline.weekly.audience import Retention
from ops_pipeline.weekly.funnel import Funnel
from ops_pipeline.weekly.headline import Figure
from ops_pipeline.weekly.measures import registry

CJK_FAMILY = "Noto Sans CJK SC"
INK, MUTED, ACCENT, PREVIOUS, GRID = "#1f2933", "#7b8794", "#2563eb", "#cbd2d9", "#e4e7eb"
GOOD, BAD = "#15803d", "#b91c1c"


class FontMissing(RuntimeError):
    """No CJK font on this machine: Chinese labels would render as boxes."""


@lru_cache(maxsize=1)
def cjk_font_file() -> str:
    """The file of the CJK font fontconfig resolves for Simplified Chinese."""
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", f"{CJK_FAMILY}:lang=zh-cn"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if not found or "CJK" not in found:
        raise FontMissing(
            f"no {CJK_FAMILY} font found (fc-match): install Debian's fonts-noto-cjk (make install does, as root)"
        )
    return found


@lru_cache(maxsize=1)
def _style() -> None:
    font_manager.fontManager.addfont(cjk_font_file())
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FAMILY, "DejaVu Sans"],
            "svg.fonttype": "path",
            "axes.edgecolor": GRID,
            "axes.labelcolor": MUTED,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.titlecolor": INK,
            "svg.hashsalt": "ops-pipeline",  # the same data gives the same SVG
        }
    )


def _data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _short_week(week: str) -> str:
    return week.split("-")[1]  # W37


def step_label(step: str) -> str:
    """'商品浏览 product view': the registry's Chinese label of the step's persons, and the step."""
    zh = registry()[f"funnel_{step}_persons"].label_zh.removesuffix("人数")
    return f"{zh} {step.replace('_', ' ')}"


def trends(figures: list[Figure]) -> str:
    """Small multiples: each headline figure over the last weeks, this week highlighted."""
    _style()
    columns = 4
    rows = -(-len(figures) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(10, 2.0 * rows), squeeze=False)
    for ax, item in zip(axes.flat, figures):
        weeks = [_short_week(w) for w, _ in item.trend]
        values = [v for _, v in item.trend]
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if points:
            ax.plot([i for i, _ in points], [v for _, v in points], color=ACCENT, linewidth=1.8, marker="o",
                    markersize=3)  # fmt: skip
            last_i, last_v = points[-1]
            ax.plot([last_i], [last_v], marker="o", markersize=6, color=ACCENT)
            ax.annotate(format_number(last_v, item.format), (last_i, last_v), textcoords="offset points",
                        xytext=(0, 7), ha="right", fontsize=8, color=INK)  # fmt: skip
        ax.set_title(item.label, loc="left", fontsize=8.5)
        ax.set_xticks(range(len(weeks)), weeks, fontsize=7)
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _, f=item.format: format_number(v, f).replace(".00%", "%"))
        )
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.margins(y=0.25)
    for ax in list(axes.flat)[len(figures) :]:
        ax.axis("off")
    figure.tight_layout(h_pad=1.2)
    return _data_uri(figure)


def funnel(data: Funnel) -> str:
    """Persons at each step this week (bars) against the previous week (outline)."""
    _style()
    labels = [step_label("visit"), *(step_label(s.step) for s in data.steps)]
    current = [data.entrants.current or 0, *(s.persons.current or 0 for s in data.steps)]
    previous = [data.entrants.previous or 0, *(s.persons.previous or 0 for s in data.steps)]
    figure, ax = plt.subplots(figsize=(10, 2.6))
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, previous, height=0.7, color="none", edgecolor=PREVIOUS, linewidth=1.2, label="previous week")
    ax.barh(positions, current, height=0.5, color=ACCENT, label="this week")
    for pos, value, step in zip(positions, current, [None, *data.steps]):
        text = f"{value:,.0f}"
        if step is not None and step.conversion.current is not None:
            text += f"  ({step.conversion.current:.1%} of the previous step)"
        colour = BAD if step is not None and data.leak is step else INK
        ax.text(value, pos, "  " + text, va="center", fontsize=8, color=colour)
    ax.set_yticks(positions, labels)
    ax.set_xlim(0, max(current + previous + [1]) * 1.45)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    figure.tight_layout()
    return _data_uri(figure)


def retention(data: Retention) -> str:
    """One retention curve per cohort week: the share active on day N."""
    _style()
    figure, ax = plt.subplots(figsize=(10, 2.8))
    shades = plt.get_cmap("Blues")
    count = len(data.cohorts)
    for index, (week, persons, rates) in enumerate(data.cohorts):
        days = [d for d in data.day_ns if rates.get(d) is not None]
        if not days:
            continue
        last = index == count - 1
        ax.plot(days, [rates[d] for d in days], marker="o", markersize=3 if not last else 5,
                linewidth=2.2 if last else 1.2, color=shades(0.35 + 0.65 * (index + 1) / max(count, 1)),
                label=f"{_short_week(week)} ({persons:,})")  # fmt: skip
    ax.set_xticks(data.day_ns, [f"D{d}" for d in data.day_ns])
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.legend(title="cohort week (persons)", fontsize=7, title_fontsize=7, frameon=False, ncol=2, loc="upper right")
    figure.tight_layout()
    return _data_uri(figure)


def roas(data: Acquisition) -> str:
    """ROAS per paid channel this week, the previous week as a tick."""
    _style()
    paid = [c for c in data.channels if c.roas.current is not None]
    paid.sort(key=lambda c: c.roas.current)
    figure, ax = plt.subplots(figsize=(10, 0.45 * len(paid) + 0.8))
    positions = range(len(paid))
    colours = [GOOD if c is data.best else BAD if c is data.worst else ACCENT for c in paid]
    ax.barh(positions, [c.roas.current for c in paid], height=0.55, color=colours)
    previous = [(i, c.roas.previous) for i, c in enumerate(paid) if c.roas.previous is not None]
    ax.scatter([v for _, v in previous], [i for i, _ in previous], marker="|", s=260, color=INK, label="previous week")
    for i, c in enumerate(paid):
        ax.text(c.roas.current, i, f"  {c.roas.current:.2f}", va="center", fontsize=8, color=INK)
    ax.axvline(1.0, color=MUTED, linewidth=0.8, linestyle="--")
    ax.set_yticks(list(positions), [c.channel for c in paid])
    ax.set_xlabel("ROAS = paid GMV / spend (1.0: break-even)")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    figure.tight_layout()
    return _data_uri(figure)
