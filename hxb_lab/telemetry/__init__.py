"""Telemetry as frames: traces, logs and metrics in ClickHouse (the OpenTelemetry
Collector exporter's tables), metrics in Prometheus, alerts in Alertmanager.

The facades `Traces`, `Metrics`, `Logs` and `Alerts` are `wb.traces`, `wb.metrics`,
`wb.logs` and `wb.alerts`; `hxb_lab.demo.telemetry.generate` writes the demo's telemetry.
"""

from __future__ import annotations

from hxb_lab.telemetry.alerts import Alerts
from hxb_lab.telemetry.logs import Logs
from hxb_lab.telemetry.metrics import Metrics
from hxb_lab.telemetry.traces import Traces

__all__ = ["Alerts", "Logs", "Metrics", "Traces"]
