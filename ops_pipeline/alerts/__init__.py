"""Metric-swing alerting (docs/alerting.md): monitors, detection, drill-down, likely cause, Slack messages
and the outbox.

Pure core: evaluation (monitors over a MetricStore), detection, attribution, cause, message.
I/O at the edges: service (evaluate_and_deliver, what the monitoring/evaluations asset calls),
evidence, outbox, delivery, announcements (failed runs and checks), run_alerts (what the CLI
reports after a run). backtest is the detection-quality backtest of `ops-pipeline eval-alerts`
(not data quality: that is ops_pipeline.quality)."""

from ops_pipeline.alerts.outbox import Alert
from ops_pipeline.alerts.service import evaluate_and_deliver
from ops_pipeline.warehouse import WarehouseBusy

__all__ = ["Alert", "WarehouseBusy", "evaluate_and_deliver"]
