"""The metric registry: every metric defined once, in dbt's semantic layer YAML (docs/metrics.md)."""

from ops_pipeline.metrics.registry import Metric, RegistryError, load_registry

__all__ = ["Metric", "RegistryError", "load_registry"]
