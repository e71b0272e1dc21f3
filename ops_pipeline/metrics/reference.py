"""The metric reference of docs/metrics.md, generated from the registry.

python -m ops_pipeline.metrics.reference          # rewrite the section of docs/metrics.md
python -m ops_pipeline.metrics.reference --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from ops_pipeline.metrics.registry import Metric, load_registry
from ops_pipeline.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "metrics.md"
BEGIN, END = "<!-- registry:begin -->", "<!-- registry:end -->"


def render(registry: Mapping[str, Metric]) -> str:
    """The registry as two Markdown tables: the metrics of metrics_daily, then the inputs of ratios."""
    published = [m for m in registry.values() if m.published]
    inputs = [m for m in registry.values() if not m.published]
    lines = [
        "Generated from the registry (`dbt_project/models/marts/monitoring/_monitoring__metrics.yml`) by",
        "`python -m ops_pipeline.metrics.reference`; a test fails when it is out of date.",
        "",
        "| metric | label | kind | definition | slices besides `all` | format | good |",
        "|---|---|---|---|---|---|---|",
        *(_row(m) for m in published),
        "",
        "Inputs of the ratios above (not rows of `metrics_daily`):",
        "",
        "| metric | label | kind | definition |",
        "|---|---|---|---|",
        *(f"| `{m.name}` | {m.display_name} | {m.kind} | {_cell(m.description) or '&nbsp;'} |" for m in inputs),
    ]
    return "\n".join(lines)


def _row(metric: Metric) -> str:
    definition = metric.description
    if metric.kind == "ratio":
        definition = f"`{metric.numerator}` / `{metric.denominator}`. {definition}".strip()
    slices = ", ".join(metric.dimensions) or "none"
    return (
        f"| `{metric.name}` | {metric.display_name} | {metric.kind} | {_cell(definition)} | {slices} "
        f"| {metric.format} | {metric.good_direction} |"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def updated(document: str, section: str) -> str:
    try:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"{DOC} has no {BEGIN} ... {END} section") from None
    return f"{head}{BEGIN}\n{section}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the metric reference of docs/metrics.md from the registry.")
    parser.add_argument("--check", action="store_true", help="only check that docs/metrics.md is up to date")
    args = parser.parse_args(argv)
    document = DOC.read_text(encoding="utf-8")
    new = updated(document, render(load_registry()))
    if args.check:
        if new != document:
            print(f"{DOC} is out of date: run python -m ops_pipeline.metrics.reference", file=sys.stderr)
            return 1
        return 0
    if new != document:
        DOC.write_text(new, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
