"""`wb.view.services()`: the service map of a time range, with each service's RED figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["ServicesView", "services_caption"]

SERVICE_COLUMNS = ("service", "calls", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms")
#: What a caption adds when a services frame's percentiles are not from every span.
SOURCES = {
    "spm": "percentiles from Jaeger's span metrics",
    "sample": "percentiles from a sample of traces",
}


def services_caption(services: pd.DataFrame, when: str) -> str:
    """A services table's caption: its range, and where its percentiles come from unless
    that is every span (``percentile_source`` of `wb.traces.services`)."""
    source = SOURCES.get(str(services.attrs.get("percentile_source", "")))
    return f"services, {when}" + (f"; {source}" if source else "")


class ServicesView(View):
    """Who calls whom in the range (edge width: calls; node colour: error rate)."""

    title = "Services"

    def _build(self) -> None:
        self.map = FigurePane()
        self.services_table = Table("services", SERVICE_COLUMNS)
        self.body.children = [self.map.widget, self.services_table.widget]

    def _load(self) -> None:
        viz = self.viz
        start, end = self.range()
        traces = self._reads.traces
        deps = traces.dependencies(start=start, end=end)
        services = traces.services(start=start, end=end)
        self.map.show(viz.service_map(deps, services, title=f"service map, {self.time.describe()}"))
        self.services_table.show(services, caption=services_caption(services, self.time.describe()))

    def figure(self) -> go.Figure:
        """The service map of the last refresh."""
        if self.map.figure is None:
            start, end = self.range()
            return self.viz.service_map(self._reads.traces.dependencies(start=start, end=end))
        return self.map.figure
