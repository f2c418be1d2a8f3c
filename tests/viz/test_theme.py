"""One look for every figure, and static HTML exports that need no network."""

from __future__ import annotations

import re

import plotly.io as pio
import pytest

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


def test_every_public_figure_is_covered_here() -> None:
    builders = set(viz.__all__) - {"MAX_POINTS", "TEMPLATE", "template", "critical_path"}
    assert builders == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_carries_the_project_template(name: str) -> None:
    fig = FIGURES[name]()
    assert fig.layout.template.layout.colorway == viz.template().layout.colorway
    assert fig.layout.template.layout.font.family.startswith("system-ui")
    assert pio.templates[viz.TEMPLATE] is viz.template()
    assert fig.layout.height >= 240


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_static_html_export_embeds_everything_and_fetches_nothing(name: str) -> None:
    html = FIGURES[name]().to_html(include_plotlyjs=True, full_html=True)
    assert "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]+src=", html), "plotly.js must be inline"
    # What the figure adds around plotly.js (a report embeds plotly.js once): no URL at all,
    # so no font, script, style or tile is fetched.
    page = FIGURES[name]().to_html(include_plotlyjs=False, full_html=True)
    assert re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page) == ["<script>"]
    assert not re.search(r"https?://", page)
