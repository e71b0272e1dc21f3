"""Monitors: which metrics of marts.metrics_daily are watched, and how (docs/alerting.md, Monitors).

Monitors are configuration: `monitors.yml` at the project root, or the file
named by OPS_MONITORS (Settings.monitors_file). A `defaults:` mapping applies to every monitor; each
entry of `monitors:` names a metric and overrides what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from ops_pipeline.metrics.registry import Metric, load_registry
from ops_pipeline.settings import DEFAULT_MONITORS_FILE

DIRECTIONS = ("up", "down", "both")
SEVERITIES = ("info", "warning", "critical")
TOTAL = "all"


class MonitorConfigError(ValueError):
    """The monitors file is unreadable or breaks the rules; the message says where."""


@dataclass(frozen=True)
class Monitor:
    name: str
    metric: str
    label: str = ""
    # 'all' watches the company total; a dimension (platform, channel, ...) watches each of its slices,
    # or only `dimension_value` when that is set.
    dimension: str = TOTAL
    dimension_value: str | None = None
    direction: str = "both"
    min_relative_change: float = 0.2
    sensitivity: float = 3.0
    # No alert while the watched volume (the value, or the denominator of a ratio) stays below this.
    min_volume: float = 0.0
    drill_down: tuple[str, ...] = ("channel", "platform", "region")
    severity: str = "warning"
    owner: str = ""
    description: str = ""

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def watches_slices(self) -> bool:
        return self.dimension != TOTAL


_FIELDS = {f.name for f in fields(Monitor)}
_NUMBERS = ("min_relative_change", "sensitivity", "min_volume")


def load_monitors(path: str | Path | None = None) -> list[Monitor]:
    """Read and validate a monitors file (default: the project's monitors.yml)."""
    source = Path(path) if path else DEFAULT_MONITORS_FILE
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise MonitorConfigError(f"cannot read monitors file {source}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise MonitorConfigError(f"{source} is not valid YAML: {error}") from None
    return parse_monitors(document, where=str(source))


def parse_monitors(
    document: object, where: str = "monitors", registry: Mapping[str, Metric] | None = None
) -> list[Monitor]:
    """Monitors watch metrics of the registry by name; the label and the drill-down dimensions
    default to the metric's (its Chinese and English label; the dimensions it is sliced by)."""
    registry = load_registry() if registry is None else registry
    if not isinstance(document, Mapping) or not isinstance(document.get("monitors"), list):
        raise MonitorConfigError(f"{where}: expected a mapping with a 'monitors:' list")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise MonitorConfigError(f"{where}: 'defaults' must be a mapping")
    _check_keys(defaults, f"{where}: defaults", forbidden={"name", "metric"})
    monitors, seen = [], set()
    for position, entry in enumerate(document["monitors"], start=1):
        if not isinstance(entry, Mapping):
            raise MonitorConfigError(f"{where}: monitor #{position} must be a mapping")
        monitor = _monitor({**defaults, **entry}, f"{where}: monitor #{position}", registry)
        if monitor.name in seen:
            raise MonitorConfigError(f"{where}: monitor name {monitor.name!r} is used twice")
        seen.add(monitor.name)
        monitors.append(monitor)
    return monitors


def _check_keys(entry: Mapping, where: str, forbidden: set[str] = frozenset()) -> None:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise MonitorConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(sorted(_FIELDS))}"
        )
    if forbidden & set(entry):
        raise MonitorConfigError(f"{where}: {', '.join(sorted(forbidden & set(entry)))} cannot be a default")


def _monitor(entry: Mapping, where: str, registry: Mapping[str, Metric]) -> Monitor:
    _check_keys(entry, where)
    metric = entry.get("metric")
    if not isinstance(metric, str) or not metric:
        raise MonitorConfigError(f"{where}: 'metric' is required")
    name = str(entry.get("name") or metric)
    where = f"{where} ({name})"
    known = registry.get(metric)
    if known is None or not known.published:
        names = ", ".join(m for m, definition in registry.items() if definition.published)
        raise MonitorConfigError(
            f"{where}: {metric!r} is not a metric of marts.metrics_daily; the metric "
            f"registry (docs/metrics.md) has: {names}"
        )
    values = dict(entry, name=name)
    values.setdefault("label", known.display_name)
    values.setdefault("drill_down", list(known.dimensions))
    for key in _NUMBERS:
        if key in values:
            try:
                values[key] = float(values[key])
            except (TypeError, ValueError):
                raise MonitorConfigError(f"{where}: {key} must be a number, not {values[key]!r}") from None
            if values[key] < 0:
                raise MonitorConfigError(f"{where}: {key} must be >= 0")
    if values.get("sensitivity") == 0:
        raise MonitorConfigError(f"{where}: sensitivity must be > 0")
    if values.get("direction", "both") not in DIRECTIONS:
        raise MonitorConfigError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
    if values.get("severity", "warning") not in SEVERITIES:
        raise MonitorConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    drill_down = values.get("drill_down", Monitor.drill_down)
    if isinstance(drill_down, str) or not all(isinstance(d, str) for d in drill_down or ()):
        raise MonitorConfigError(f"{where}: drill_down must be a list of dimension names")
    values["drill_down"] = tuple(drill_down or ())
    values["dimension"] = str(values.get("dimension") or TOTAL)
    for dimension in (values["dimension"], *values["drill_down"]):
        if not known.can_slice_by(dimension):
            raise MonitorConfigError(
                f"{where}: {metric} has no slices by {dimension!r}; it has: "
                f"{', '.join(known.dimensions) or 'the company total only'}"
            )
    if values.get("dimension_value") is not None:
        if values["dimension"] == TOTAL:
            raise MonitorConfigError(f"{where}: dimension_value needs a dimension")
        values["dimension_value"] = str(values["dimension_value"])
    for key in ("label", "owner", "description"):
        values[key] = str(values.get(key) or "")
    return Monitor(**values)
