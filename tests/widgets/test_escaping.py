"""Hostile strings from a cluster or telemetry reach the page only escaped.

`<img src=x onerror=alert(1)>` sits in pod names and a pod annotation, span attributes,
service names, log lines, event messages and deployment reasons. Every view and figure is
rendered; every property a browser renders as HTML (HTML widgets, table cells and
captions, plotly text, labels and hover) must carry it escaped, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hxb_lab import viz
from hxb_lab.widgets import Views
from hxb_lab.widgets._base import View
from tests.viz import frames as F
from tests.widgets.bench import StaticBench

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def strings(value: Any) -> Iterator[str]:
    """Every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
    elif hasattr(value, "tolist"):
        yield from strings(value.tolist())


def rendered_as_html(widget: Any) -> Iterator[str]:
    """The strings of a widget tree that a browser renders as HTML."""
    import ipywidgets as w
    import plotly.graph_objects as go
    from itables.widget import ITable

    if isinstance(widget, go.FigureWidget):
        yield from strings(widget.to_dict())
    elif isinstance(widget, ITable):
        args = dict(widget._dt_args)
        yield from strings(json.loads(args.pop("data_json", "[]")))
        yield from strings(args)
        yield widget.caption
    elif isinstance(widget, w.HTML | w.HTMLMath):
        yield widget.value
    if getattr(widget, "description_allow_html", False):
        yield widget.description
    for child in getattr(widget, "children", ()):
        yield from rendered_as_html(child)


def assert_only_escaped(texts: list[str], where: str) -> None:
    raw = [t for t in texts if "<img" in t]
    assert not raw, f"{where}: unescaped markup reaches HTML: {raw[0][:200]!r}"
    assert any(ESCAPED in t for t in texts), f"{where}: the hostile string never shows"


def _select_everything(view: View) -> None:
    """Drive a view to its deepest state, so every pane has hostile data in it."""
    for name in ("nodes_table", "services_table", "deployments_table"):
        table = getattr(view, name, None)
        if table is not None and len(table):
            table.select(0)
    if hasattr(view, "traces_table") and len(view.traces_table):
        view.traces_table.select(0)
    if hasattr(view, "threshold"):
        view.threshold.value = 50


VIEWS = {
    "cluster": lambda v: v.cluster(),
    "gpus": lambda v: v.gpus(),
    "inference": lambda v: v.inference(),
    "metrics": lambda v: v.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"]),
    "traces": lambda v: v.traces(service=F.EVIL + " api-gateway"),
    "services": lambda v: v.services(),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_view_renders_hostile_strings_as_text(name: str) -> None:
    view = VIEWS[name](Views(StaticBench(evil=True)))
    _select_everything(view)
    assert view.error_message == ""
    assert_only_escaped(list(rendered_as_html(view.widget)), f"view {name}")
    html = view.figure().to_html(include_plotlyjs=False)
    assert "<img src=x" not in html
    assert_only_escaped(list(strings(view.figure().to_dict())), f"{name}.figure()")


def test_an_error_message_with_markup_is_escaped() -> None:
    bench = StaticBench(evil=True)
    view = Views(bench).services()
    bench.fail("services", RuntimeError(F.EVIL))
    bench.traces.services = lambda **_: (_ for _ in ()).throw(RuntimeError(F.EVIL))  # type: ignore[method-assign]
    view.refresh()
    assert_only_escaped([view.error.value], "error line")


FIGURES = {
    "timeseries": lambda: viz.timeseries(
        F.gpu_metrics(hosts=(F.EVIL, "h100-1"), pod=F.EVIL), title=F.EVIL, unit=F.EVIL
    ),
    "gpu_heatmap": lambda: viz.gpu_heatmap(F.gpu_metrics(hosts=(F.EVIL,), pod=F.EVIL)),
    "gpu_allocation": lambda: viz.gpu_allocation(
        F.allocation(F.EVIL), F.inventory().assign(product=F.EVIL)
    ),
    "trace_waterfall": lambda: viz.trace_waterfall(F.known_trace(F.EVIL, attribute=F.EVIL)),
    "service_map": lambda: viz.service_map(F.dependencies(F.EVIL), F.red(F.EVIL)),
    "latency_distribution": lambda: viz.latency_distribution(F.latencies(), title=F.EVIL),
    "compare": lambda: viz.compare(F.latencies(), F.latencies(), labels=(F.EVIL, "after")),
    "node_capacity": lambda: viz.node_capacity(F.nodes().assign(name=F.EVIL)),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_renders_hostile_strings_as_text(name: str) -> None:
    fig = FIGURES[name]()
    assert_only_escaped(list(strings(fig.to_dict())), name)
    html = fig.to_html(include_plotlyjs=False)
    assert "<img src=x" not in html
    assert ESCAPED in html
