"""The metric registry, read from the dbt project's `metrics:` YAML (one entry per metric).

dbt builds marts.metrics_daily from the same entries (macros/metric_registry.sql);
here the monitors, the alert messages and the docs read a metric's labels, kind,
format and dimensions. Pure apart from reading the YAML files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ops_pipeline.settings import DBT_PROJECT_DIR

FORMATS = ("number", "percent")
DIRECTIONS = ("up", "down")
TOTAL = "all"


class RegistryError(ValueError):
    """A registry entry is incomplete or inconsistent; the message names the file and metric."""


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    label_zh: str
    kind: str  # count, sum or ratio
    unit: str
    format: str  # number or percent
    good_direction: str  # up or down
    dimensions: tuple[str, ...] = ()  # the slices of metrics_daily besides the company total
    numerator: str | None = None
    denominator: str | None = None
    description: str = ""
    published: bool = True  # in marts.metrics_daily (False: only an input of ratios)

    @property
    def display_name(self) -> str:
        """What people read: the Chinese and the English label, e.g. '付费率 Pay rate'."""
        return f"{self.label_zh} {self.label}".strip()

    def format_value(self, value: float | None) -> str:
        return format_number(value, self.format)

    def can_slice_by(self, dimension: str) -> bool:
        return dimension == TOTAL or dimension in self.dimensions


def format_number(value: float | None, style: str = "number") -> str:
    """percent: 5.34%; number: 123,457 from 100 on and for whole numbers, else 4.57; None: n/a."""
    if value is None:
        return "n/a"
    if style == "percent":
        return f"{value:.2%}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def load_registry(project_dir: str | Path = DBT_PROJECT_DIR) -> dict[str, Metric]:
    """Every metric of the dbt project's models/**/*.yml `metrics:` lists, by name."""
    return dict(_load(Path(project_dir).resolve()))


@lru_cache(maxsize=8)
def _load(project_dir: Path) -> tuple[tuple[str, Metric], ...]:
    entries: dict[str, tuple[Path, Mapping]] = {}
    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in document.get("metrics") or []:
            name = entry.get("name") if isinstance(entry, Mapping) else None
            if not name:
                raise RegistryError(f"{path}: a metric without a name")
            if name in entries:
                raise RegistryError(f"{path}: metric {name} is also defined in {entries[name][0]}")
            entries[name] = (path, entry)
    metrics = {name: _metric(path, entry, entries) for name, (path, entry) in entries.items()}
    return tuple(metrics.items())  # in the order of the files, as people grouped them


def _metric(path: Path, entry: Mapping, entries: Mapping[str, tuple[Path, Mapping]]) -> Metric:
    name = entry["name"]
    where = f"{path}: metric {name}"
    meta = (entry.get("config") or {}).get("meta") or entry.get("meta") or {}
    params = entry.get("type_params") or {}
    kind, numerator, denominator = _kind(where, entry.get("type"), params, meta, entries)
    metric = Metric(
        name=name,
        label=str(entry.get("label") or name),
        label_zh=str(meta.get("label_zh") or ""),
        kind=kind,
        unit=str(meta.get("unit") or ""),
        format=str(meta.get("format") or "number"),
        good_direction=str(meta.get("good_direction") or "up"),
        dimensions=tuple(meta.get("dimensions") or ()),
        numerator=numerator,
        denominator=denominator,
        description=" ".join(str(entry.get("description") or "").split()),
        published=bool(meta.get("metrics_daily", True)),
    )
    if metric.format not in FORMATS:
        raise RegistryError(f"{where}: meta.format must be one of {', '.join(FORMATS)}, got {metric.format!r}")
    if metric.good_direction not in DIRECTIONS:
        raise RegistryError(f"{where}: meta.good_direction must be up or down, got {metric.good_direction!r}")
    if not metric.label_zh:
        raise RegistryError(f"{where}: meta.label_zh (the Chinese label) is missing")
    return metric


def _kind(
    where: str, type_: object, params: Mapping, meta: Mapping, entries: Mapping
) -> tuple[str, str | None, str | None]:
    if type_ == "simple":
        if not params.get("measure"):
            raise RegistryError(f"{where}: a simple metric needs type_params.measure")
        return ("sum" if meta.get("unit") == "yuan" else "count"), None, None
    if type_ == "ratio":
        parts = [_input_name(params.get(part)) for part in ("numerator", "denominator")]
        for part in parts:
            if part not in entries:
                raise RegistryError(f"{where}: ratio input {part!r} is not a metric of the registry")
        return "ratio", parts[0], parts[1]
    raise RegistryError(f"{where}: type must be simple or ratio, got {type_!r}")


def _input_name(value: object) -> str | None:
    return value.get("name") if isinstance(value, Mapping) else value  # `numerator: x` or `{name: x}`
