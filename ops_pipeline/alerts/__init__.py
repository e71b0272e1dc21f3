"""Metric-swing alerting (shared/spec/alerts.md): monitors, detection, drill-down, likely cause,
Slack messages and the outbox. `evaluate_and_deliver` is what the CLI and the sensors call."""

from ops_pipeline.alerts.evaluate import evaluate_and_deliver
from ops_pipeline.alerts.outbox import Alert
from ops_pipeline.alerts.store import WarehouseBusy

__all__ = ["Alert", "WarehouseBusy", "evaluate_and_deliver"]
