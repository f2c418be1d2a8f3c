"""Hostile strings reach the page only escaped, in every field of every frame a view or
figure shows: `StaticBench(evil=True)` serves fixed frames in which every string a cluster
or telemetry could send (names, workspaces, taints, reasons, messages, labels, attributes,
log lines) starts with `<img src=x onerror=alert(1)>`, and each figure builder gets frames
as hostile. `test_hostile_data.py` puts the string into the demo's own data instead and
reads it through the real layers; this module covers the fields that one cannot reach.
"""

from __future__ import annotations

import pytest

from hxb_lab import viz
from hxb_lab.widgets import Views
from hxb_lab.widgets._base import View
from tests.viz import frames as F
from tests.widgets.bench import StaticBench
from tests.widgets.rendering import (
    assert_figure_escaped,
    assert_only_escaped,
    assert_text_fields_plain,
    view_markup,
)


@pytest.fixture(autouse=True)
def notebook_allows_html(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook that lets its own itables render HTML must not change what ours do."""
    import itables.options

    monkeypatch.setattr(itables.options, "allow_html", True)


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
    markup, text = view_markup(view.widget)
    assert_only_escaped(markup, f"view {name}")
    assert_text_fields_plain(text, f"view {name}")
    assert_figure_escaped(view.figure(), f"{name}.figure()")


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
    assert_figure_escaped(FIGURES[name](), name)
