"""Telemetry as frames: traces, metrics and logs in ClickHouse, metrics and alerts in Prometheus."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["Alerts", "Logs", "Metrics", "Traces"]


class _Facade:
    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of profile {self._wb.profile.name!r}>"


class Traces(_Facade):
    """OpenTelemetry traces: service and operation RED figures, search, one trace, deps."""


class Metrics(_Facade):
    """Metrics from Prometheus or the OTel metric tables, as tidy frames."""


class Logs(_Facade):
    """OpenTelemetry logs, searchable and correlated with traces."""


class Alerts(_Facade):
    """Alerts from Alertmanager."""
