"""One look for every figure, and static HTML exports that need no network."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

import hxb_lab as hx
from hxb_lab import viz
from tests.viz import frames as F

FIGURES = {
    "timeseries": lambda: viz.timeseries(F.gpu_metrics()),
    "gpu_heatmap": lambda: viz.gpu_heatmap(F.gpu_metrics()),
    "gpu_allocation": lambda: viz.gpu_allocation(F.allocation(), F.inventory()),
    "trace_waterfall": lambda: viz.trace_waterfall(F.known_trace()),
    "service_map": lambda: viz.service_map(F.dependencies(), F.red()),
    "latency_distribution": lambda: viz.latency_distribution(F.latencies()),
    "compare": lambda: viz.compare(F.latencies(), F.latencies(median_ms=130)),
    "node_capacity": lambda: viz.node_capacity(F.nodes()),
}

# The platform stack's figures, drawn from the demo's frames (their shapes are many and
# the demo's story is what they are for).
ON_THE_DEMO: dict[str, Callable[[Any], go.Figure]] = {
    "application_status": lambda wb: viz.application_status(wb.gitops.applications()),
    "pipeline_timeline": lambda wb: viz.pipeline_timeline(wb.gitops.pipeline_runs()),
    "violations_by_constraint": lambda wb: viz.violations_by_constraint(wb.policy.violations()),
    "falco_timeline": lambda wb: viz.falco_timeline(wb.policy.falco_events()),
    "traffic_split": lambda wb: viz.traffic_split(wb.platform.routes()),
    "claim_status": lambda wb: viz.claim_status(wb.platform.volumes()),
    "autoscaler_headroom": lambda wb: viz.autoscaler_headroom(wb.platform.autoscalers()),
    "certificate_expiry": lambda wb: viz.certificate_expiry(wb.platform.ingresses()),
    "notebook_utilization": lambda wb: viz.notebook_utilization(wb.platform.idle_notebooks()),
    "with_changes": lambda wb: viz.with_changes(
        viz.timeseries(F.gpu_metrics()), wb.cluster.history(start="-7d")
    ),
}


@pytest.fixture(scope="module")
def demo_wb(demo_home: Path) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HXB_LAB_HOME", str(demo_home))
        workbench = hx.connect("demo")
        yield workbench
        workbench.close()


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[], go.Figure]:
    """A builder of the figure named by the test's parameter."""
    name = request.param
    if name in FIGURES:
        return FIGURES[name]
    wb = request.getfixturevalue("demo_wb")
    return lambda: ON_THE_DEMO[name](wb)


ALL = sorted({*FIGURES, *ON_THE_DEMO})


def test_every_public_figure_is_covered_here() -> None:
    builders = set(viz.__all__) - {"MAX_POINTS", "TEMPLATE", "template", "critical_path"}
    assert builders == set(ALL)


@pytest.mark.parametrize("figure", ALL, indirect=True)
def test_every_figure_carries_the_project_template(figure: Callable[[], go.Figure]) -> None:
    fig = figure()
    assert len(fig.data) > 0, "the demo's frame drew nothing"
    assert fig.layout.template.layout.colorway == viz.template().layout.colorway
    assert fig.layout.template.layout.font.family.startswith("system-ui")
    assert pio.templates[viz.TEMPLATE] is viz.template()
    assert fig.layout.height >= 240


@pytest.mark.parametrize("figure", ALL, indirect=True)
def test_static_html_export_embeds_everything_and_fetches_nothing(
    figure: Callable[[], go.Figure],
) -> None:
    html = figure().to_html(include_plotlyjs=True, full_html=True)
    assert "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]+src=", html), "plotly.js must be inline"
    # What the figure adds around plotly.js (a report embeds plotly.js once): no URL at all,
    # so no font, script, style or tile is fetched.
    page = figure().to_html(include_plotlyjs=False, full_html=True)
    assert re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page) == ["<script>"]
    assert not re.search(r"https?://", page)
