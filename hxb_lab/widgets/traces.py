"""`wb.view.traces(service=None)`: services (RED) → a service's slowest and failing traces →
one trace's waterfall, the attributes of a span, and the trace's logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab.telemetry.links import trace_links
from hxb_lab.widgets import _html
from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table
from hxb_lab.widgets.services import services_caption

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from hxb_lab.widgets.reads import Reads

__all__ = ["TracesView"]

SERVICE_COLUMNS = ("service", "calls", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms")
TRACE_COLUMNS = (
    "trace_id", "root_service", "root_operation", "start", "duration_ms", "spans", "errors",
    "services",
)  # fmt: skip
LOG_COLUMNS = ("timestamp", "severity", "service", "body", "span_id")
TRACES_SHOWN = 20


class TracesView(View):
    """Drill down from the services' rate, errors and latency to the span that is slow."""

    title = "Traces"

    def __init__(self, reads: Reads, *, service: str | None = None, **options: Any) -> None:
        self._wanted_service = service
        super().__init__(reads, **options)

    def _build(self) -> None:
        import ipywidgets as w
        import pandas as pd

        self.services_table = Table("services", SERVICE_COLUMNS)
        self.which = w.ToggleButtons(options=["slowest", "failing"], value="slowest")
        self.traces_table = Table("traces", TRACE_COLUMNS)
        self.waterfall = FigurePane()
        self.span = w.Dropdown(options=[], description="span", layout={"width": "520px"})
        self.attributes = w.HTML()
        self.links = w.HTML()  # the trace in the Jaeger UI / Grafana Explore
        self.log_links = w.HTML()  # the trace's logs in Kibana Discover / Grafana Explore
        self.logs_table = Table("logs", LOG_COLUMNS, page_length=8)
        self.spans = pd.DataFrame()
        self.logs = pd.DataFrame()
        self.traces = pd.DataFrame()
        self.services_table.on_select(lambda _r: self.run(self._show_traces, what="searching"))
        self.which.observe(lambda _c: self.run(self._show_traces, what="searching"), "value")
        self.traces_table.on_select(lambda _r: self.run(self._show_trace, what="reading trace"))
        self.span.observe(lambda _c: self.run(self._show_span, what="reading span"), "value")
        self.trace_box = w.VBox(
            [
                self.links,
                self.waterfall.widget,
                self.span,
                self.attributes,
                self.log_links,
                self.logs_table.widget,
            ]
        )
        self.body.children = [
            self.services_table.widget,
            self.which,
            self.traces_table.widget,
            self.trace_box,
        ]

    # ------------------------------------------------------------------ services
    def _load(self) -> None:
        start, end = self.range()
        before = self.selected_service() or self._wanted_service
        services = self._reads.traces.services(start=start, end=end)
        self.services_table.show(services, caption=services_caption(services, self.time.describe()))
        if before is not None:
            self.services_table.select_where("service", before)
        self._show_traces()

    def selected_service(self) -> str | None:
        row = self.services_table.selected
        return None if row is None else str(row["service"])

    # ------------------------------------------------------------------ traces
    def _show_traces(self) -> None:
        import pandas as pd

        service = self.selected_service()
        if service is None:
            self.traces = pd.DataFrame(columns=list(TRACE_COLUMNS))
            self.traces_table.show(self.traces, caption="traces: select a service above")
        else:
            start, end = self.range()
            failing = self.which.value == "failing"
            found = self._reads.traces.search(
                service=service,
                status="error" if failing else None,
                start=start,
                end=end,
                limit=TRACES_SHOWN,
                order="recent" if failing else "slowest",
            )
            shown = "start" if failing else "duration_ms"
            self.traces = found.sort_values(shown, ascending=False).head(TRACES_SHOWN)
            what = "failing" if failing else "slowest"
            self.traces_table.show(
                self.traces, caption=f"{what} traces of {service}: {len(self.traces)}"
            )
        self._show_trace()

    def selected_trace(self) -> str | None:
        row = self.traces_table.selected
        return None if row is None else str(row["trace_id"])

    # ------------------------------------------------------------------ one trace
    def _show_trace(self) -> None:
        import pandas as pd

        from hxb_lab import viz

        trace_id = self.selected_trace()
        if trace_id is None:
            self.spans = pd.DataFrame()
            self.trace_box.layout.display = "none"
            self.span.options = []
            self.links.value = ""
            self.log_links.value = ""
            self.logs = pd.DataFrame(columns=list(LOG_COLUMNS))
            self.logs_table.show(self.logs)
            return
        traces = self._reads.traces
        self.spans = traces.get(trace_id)
        self.links.value = _html.links(self._trace_links(trace_id))
        critical = traces.critical_path(trace_id)
        self.waterfall.show(
            viz.trace_waterfall(self.spans, critical=critical, title=f"trace {trace_id}")
        )
        self.span.options = [
            (f"{row.service}: {row.operation} ({row.duration_ms:,.1f} ms)", str(row.span_id))
            for row in self.spans.itertuples()
        ]
        if len(self.spans):
            self.span.value = str(self.spans["span_id"].iloc[0])
        self.trace_box.layout.display = ""
        start, end = self.range()
        logs = self._reads.logs.search(trace_id=trace_id, start=start, end=end, limit=200)
        self.logs = logs
        labels = {"kibana": "Kibana Discover", "grafana": "Grafana Explore"}
        found = logs.attrs.get("links", {})
        self.log_links.value = _html.links({labels[k]: found[k] for k in labels if k in found})
        self.logs_table.show(logs, caption=f"logs of trace {trace_id}: {len(logs)}")
        self._show_span()

    def _trace_links(self, trace_id: str) -> dict[str, str]:
        """The trace's links out, labelled, over the trace's own time."""
        labels = {"jaeger": "Jaeger UI", "grafana": "Grafana Explore"}
        if self.spans.empty:
            return {}
        start_ns = int(self.spans["start"].min().value)
        took = float((self.spans["offset_ms"] + self.spans["duration_ms"]).max())
        found = trace_links(self._reads.profile, trace_id, start_ns, start_ns + int(took * 1e6))
        return {labels[k]: url for k, url in found.items()}

    def selected_span(self) -> pd.Series | None:
        if self.spans.empty or self.span.value is None:
            return None
        rows = self.spans[self.spans["span_id"].astype(str) == self.span.value]
        return None if rows.empty else rows.iloc[0]

    def _show_span(self) -> None:
        from hxb_lab.viz.traces import attribute_pairs

        span = self.selected_span()
        if span is None:
            self.attributes.value = ""
            return
        facts = [
            ("service", span["service"]),
            ("operation", span["operation"]),
            ("span id", span["span_id"]),
            ("duration", f"{span['duration_ms']:,.2f} ms"),
        ]
        for key in ("kind", "status", "self_time_ms", "start"):
            if key in span.index:
                facts.append((key, span[key]))
        pairs = facts + attribute_pairs(span.get("attributes"))
        self.attributes.value = _html.key_values(pairs)

    def figure(self) -> go.Figure:
        """The selected trace's waterfall, else the latency of the listed traces."""
        from hxb_lab import viz

        if self.selected_trace() is not None and self.waterfall.figure is not None:
            return self.waterfall.figure
        service = self.selected_service() or "all services"
        return viz.latency_distribution(
            self.traces if "duration_ms" in self.traces else self.traces.assign(duration_ms=[]),
            title=f"{self.which.value} traces of {service}",
        )
