"""`wb.view.metrics(metric or promql=...)`: a metric over time with step, group-by, aggregation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import HxbLabError, ParameterError
from hxb_lab.widgets import _html
from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from hxb_lab.widgets.reads import Reads

__all__ = ["AGGREGATIONS", "STEPS", "MetricsView"]

STEPS = ("auto", "15s", "30s", "1m", "5m", "15m", "1h")
AGGREGATIONS = ("avg", "sum", "min", "max", "count")


class MetricsView(View):
    """One structured metric query (``wb.metrics.query``) or raw PromQL over the time range;
    the query, step, group-by labels and aggregation are editable in the view. Under the
    chart, a "changes" lane marks the cluster's rollouts, scale-ups, cordons and config
    changes of the range (`wb.cluster.history()`; `changes=False` leaves it out, and a
    profile with no recorded history shows none).
    """

    title = "Metrics"

    def __init__(
        self,
        reads: Reads,
        *,
        metric: str | None = None,
        promql: str | None = None,
        where: dict[str, Any] | None = None,
        by: Sequence[str] | None = None,
        agg: str = "avg",
        rate: bool = False,
        step: str | None = None,
        changes: bool = True,
        **options: Any,
    ) -> None:
        if (metric is None) == (promql is None):
            raise ParameterError(["give either a metric name or promql=..., not both or neither"])
        if agg not in AGGREGATIONS:
            raise ParameterError([f"agg: {agg!r} is not one of {', '.join(AGGREGATIONS)}"])
        if step is not None and step not in STEPS:
            raise ParameterError([f"step: {step!r} is not one of {', '.join(STEPS)}"])
        self._initial = {
            "query": promql if promql is not None else metric,
            "promql": promql is not None,
            "by": ", ".join(by or ()),
            "agg": agg,
            "rate": rate,
            "step": step or "auto",
        }
        self.where = dict(where or {})
        self.show_changes = bool(changes)
        self.changes: pd.DataFrame | None = None
        self.frame: pd.DataFrame | None = None
        super().__init__(reads, **options)

    def _build(self) -> None:
        import ipywidgets as w

        init = self._initial
        self.query = w.Text(
            value=str(init["query"]),
            description="PromQL" if init["promql"] else "metric",
            layout={"width": "520px"},
            continuous_update=False,
        )
        self.is_promql = bool(init["promql"])
        self.step = w.Dropdown(options=STEPS, value=init["step"], description="step")
        self.by = w.Text(
            value=str(init["by"]),
            description="group by",
            placeholder="labels, comma-separated",
            continuous_update=False,
        )
        self.agg = w.Dropdown(options=AGGREGATIONS, value=init["agg"], description="agg")
        self.rate = w.Checkbox(value=bool(init["rate"]), description="rate", indent=False)
        for control in (self.step, self.by, self.agg, self.rate, self.query):
            control.observe(lambda _c: self.refresh(), "value")
        structured = [] if self.is_promql else [self.by, self.agg, self.rate]
        for control in (self.step, self.by, self.agg):
            control.layout.width = "220px"
            control.style.description_width = "initial"
        self.summary = w.HTML()
        self.links = w.HTML()  # the same query in Grafana Explore
        self.chart = FigurePane()
        self.body.children = [
            w.HBox([self.query, self.step]),
            w.HBox(structured),
            self.summary,
            self.links,
            self.chart.widget,
        ]

    def group_by(self) -> list[str]:
        return [label.strip() for label in self.by.value.split(",") if label.strip()]

    def _read(self) -> pd.DataFrame:
        start, end = self.range()
        step = None if self.step.value == "auto" else self.step.value
        metrics = self._reads.metrics
        query = self.query.value.strip()
        if not query:
            raise ParameterError(["the query is empty"], subject="metric query")
        if self.is_promql:
            frame: pd.DataFrame = metrics.promql(query, start=start, end=end, step=step)
        else:
            frame = metrics.query(
                query,
                where=self.where or None,
                by=self.group_by() or None,
                agg=self.agg.value,
                rate=self.rate.value,
                step=step,
                start=start,
                end=end,
            )
        return frame

    def _load(self) -> None:
        from hxb_lab import viz

        frame = self._read()
        self.frame = frame
        grafana = frame.attrs.get("links", {}).get("grafana", "")
        self.links.value = _html.links({"Grafana Explore": grafana} if grafana else {})
        title = f"{self.query.value.strip()}, {self.time.describe()}"
        fig = viz.timeseries(frame, title=title)
        lane = ""
        if self.show_changes:
            fig, lane = self._with_changes(fig)
        self.chart.show(fig)
        labels = [c for c in frame.columns if c not in ("timestamp", "value")]
        series = frame.groupby(labels, dropna=False).ngroups if labels and len(frame) else 0
        series = series or (1 if len(frame) else 0)
        self.summary.value = (
            f'<span class="hxb-muted">{series} series, {plural(len(frame), "point")}'
            f"{', downsampled' if fig.layout.meta['downsampled'] else ''}"
            f"{', labels: ' + _html.esc(', '.join(labels)) if labels else ''}{lane}</span>"
        )

    def _with_changes(self, fig: go.Figure) -> tuple[go.Figure, str]:
        """The chart with the range's cluster changes under it, and a note for the summary."""
        from hxb_lab import viz

        start, end = self.range()
        try:
            # only the rows the lane draws: a cluster's events and status changes are most
            self.changes = self._reads.cluster.history(start=start, end=end, what=viz.changes.LANE)
        except HxbLabError:
            self.changes = None
            return fig, ", no cluster history recorded"
        fig = viz.with_changes(fig, self.changes)
        return fig, f", {plural(int(fig.layout.meta['changes']), 'cluster change')}"

    def figure(self) -> go.Figure:
        """The chart of the last refresh."""
        from hxb_lab import viz

        if self.chart.figure is not None:
            return self.chart.figure
        return viz.timeseries(self._read(), title=self.query.value)
