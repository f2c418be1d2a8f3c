"""Figure geometry: for known frames, marks sit where the data says (bars, cells, edges, lines)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hxb_lab import viz
from hxb_lab.errors import ParameterError
from hxb_lab.viz import _map_layout
from tests.conftest import require
from tests.server.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.viz import frames as F


def _bars_by_row(fig) -> dict[int, tuple[float, float, str]]:
    """Row -> (start, end, service) of every span bar (not the overlay traces)."""
    found = {}
    for trace in fig.data:
        if trace.type == "bar" and trace.name not in ("critical path",):
            for row, base, width in zip(trace.y, trace.base, trace.x, strict=True):
                found[int(row)] = (float(base), float(base + width), trace.name)
    return found


def test_waterfall_bars_start_and_end_where_the_spans_do() -> None:
    spans = F.known_trace()
    fig = viz.trace_waterfall(spans)
    bars = _bars_by_row(fig)
    assert len(bars) == len(spans)
    for row, span in enumerate(spans.itertuples()):
        start, end, service = bars[row]
        assert start == pytest.approx(span.offset_ms)
        assert end == pytest.approx(span.offset_ms + span.duration_ms)
        assert service == span.service
    # One row per span, root on top, labels indented by depth.
    assert next(iter(fig.layout.yaxis.ticktext)) == "api-gateway: POST /v1/chat"
    assert list(fig.layout.yaxis.ticktext)[4] == "\u2007" * 4 + "llm-chat: infer"
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.title.text == "trace: 5 spans, 100.0 ms"


def test_waterfall_marks_errors_and_the_critical_path() -> None:
    fig = viz.trace_waterfall(F.known_trace())
    errors = next(t for t in fig.data if t.name == "error")
    assert list(errors.y) == [4]
    assert list(errors.x) == [90.0]
    llm = next(t for t in fig.data if t.name == "llm-chat")
    assert list(llm.marker.line.width) == [2.5]
    path = next(t for t in fig.data if t.name == "critical path")
    # The feature-store call ran in parallel with the model call: not on the path.
    assert sorted(int(r) for r in path.y) == [0, 1, 2, 4]
    assert fig.layout.meta["critical_path"] == ["a", "b", "c", "e"]
    given = viz.trace_waterfall(F.known_trace(), critical=pd.DataFrame({"span_id": ["a", "d"]}))
    assert given.layout.meta["critical_path"] == ["a", "d"]


def test_waterfall_hover_has_the_span_details() -> None:
    fig = viz.trace_waterfall(F.known_trace())
    root = next(t for t in fig.data if t.name == "api-gateway")
    details = list(root.customdata[0])
    assert details[:4] == ["api-gateway", "POST /v1/chat", "Server", "Ok"]
    assert details[4] == "08:00:00.000"
    assert "http.route: GET /v1/chat" in details[6]
    assert "%{customdata[6]}" in root.hovertemplate


def test_critical_path_of_a_sequential_trace_is_every_span() -> None:
    spans = F.known_trace()
    spans.loc[spans["span_id"] == "d", ["offset_ms", "duration_ms"]] = [16.0, 3.0]
    assert sorted(viz.critical_path(spans)) == ["a", "b", "c", "d", "e"]


def test_gpu_heatmap_has_one_panel_per_product_and_the_mean_per_gpu() -> None:
    fig = viz.gpu_heatmap(F.gpu_metrics())
    h100, l4 = fig.data
    assert [a.text for a in fig.layout.annotations] == ["NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"]
    assert list(h100.y) == ["h100-0", "h100-1"]
    assert list(l4.y) == ["l4-0"]
    assert list(h100.x) == ["GPU 0", "GPU 1", "GPU 2", "GPU 3"]
    # GPU g of host h: 10 g + 5 h on average.
    assert np.asarray(h100.z).tolist() == [[0.0, 10.0, 20.0, 30.0], [5.0, 15.0, 25.0, 35.0]]
    assert np.asarray(l4.z).tolist() == [[10.0, 20.0, 30.0, 40.0]]
    assert h100.customdata[0][0] == "assistant/llm-chat-1"  # who holds the GPU
    assert fig.layout.coloraxis.cmin == 0
    assert fig.layout.coloraxis.cmax == 100
    in_bytes = F.gpu_metrics().assign(value=lambda f: f["value"] * 2**30)
    peak = viz.gpu_heatmap(in_bytes, agg="max", kind="memory")
    assert np.asarray(peak.data[0].z)[1][3] == 36.0
    assert peak.layout.title.text == "GPU memory used (GiB), max per GPU"


def test_gpu_heatmap_names_the_columns_it_could_not_find() -> None:
    with pytest.raises(ParameterError, match="no node column: expected one of node, Hostname"):
        viz.gpu_heatmap(F.gpu_metrics().drop(columns=["Hostname"]))
    with pytest.raises(ParameterError, match="kind: 'power' is not one of utilization, memory"):
        viz.gpu_heatmap(F.gpu_metrics(), kind="power")


def test_gpu_allocation_sums_workspaces_namespaces_workloads_and_free_gpus() -> None:
    fig = viz.gpu_allocation(F.allocation(), F.inventory())
    tree = fig.data[0]
    value = dict(zip(tree.ids, tree.values, strict=True))
    assert value["all"] == 12
    assert value["all/assistant"] == 8
    assert value["all/assistant/assistant/llm-chat"] == 6
    assert value["all/search/search/text-embed"] == 4
    assert "all/(no workspace)" not in value  # a workload holding no GPU is not drawn
    allocated, free = fig.data[1], fig.data[2]
    assert list(allocated.y) == ["NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"]
    assert list(allocated.x) == [8.0, 4.0]
    assert list(free.x) == [8.0, 4.0]
    assert fig.layout.title.text == "GPUs allocated: 12, free: 12 of 24"
    alone = viz.gpu_allocation(F.allocation()[["workspace", "gpus_allocated"]])
    assert len(alone.data) == 1
    assert alone.layout.title.text == "GPUs allocated: 12"


def test_service_map_edges_grow_with_calls_and_nodes_show_error_rates() -> None:
    fig = viz.service_map(F.dependencies(), F.red())
    edges = {t.name: t for t in fig.data if t.mode == "lines"}
    assert set(edges) == {
        "api-gateway → auth",
        "api-gateway → router",
        "router → llm-chat",
        "router → feature-store",
    }
    widths = {name: t.line.width for name, t in edges.items()}
    assert widths["api-gateway → router"] == viz.services.MAX_WIDTH  # the busiest edge
    assert (
        widths["api-gateway → router"]
        > widths["router → llm-chat"]
        > widths["router → feature-store"]
    )
    # Callers left of callees.
    x = {name: t.x for name, t in edges.items()}
    assert x["api-gateway → router"][0] < x["router → llm-chat"][0] < x["router → llm-chat"][1]
    nodes = next(t for t in fig.data if t.name == "services")
    rate = dict(zip(nodes.text, nodes.marker.color, strict=True))
    assert rate == {
        "api-gateway": 0.01,
        "auth": 0.0,
        "feature-store": 0.0,
        "llm-chat": 0.1,
        "router": 0.01,
    }
    # Without the RED frame, a node's rate is that of the calls it receives.
    alone = next(t for t in viz.service_map(F.dependencies()).data if t.name == "services")
    assert dict(zip(alone.text, alone.marker.color, strict=True))["llm-chat"] == 0.1


def test_latency_distribution_counts_every_request_and_marks_percentiles() -> None:
    frame = F.latencies(1000)
    fig = viz.latency_distribution(frame, bins=20)
    bars = fig.data[0]
    assert int(sum(bars.y)) == 1000
    assert len(bars.x) == 20
    expected = np.percentile(frame["duration_ms"], [50, 95, 99])
    assert [s.x0 for s in fig.layout.shapes] == pytest.approx(list(expected))
    assert [a.text for a in fig.layout.annotations][1].startswith("p95 ")
    assert fig.layout.meta["count"] == 1000
    assert viz.latency_distribution(frame.iloc[:0]).layout.annotations[0].text == (
        "no data in this range"
    )


def test_compare_flags_a_regression_and_shows_both_distributions_as_shares() -> None:
    before, after = F.latencies(1000), F.latencies(4000, median_ms=150, seed=2)
    fig = viz.compare(before, after, labels=("v7", "v8"))
    assert fig.layout.meta["regression"] is True
    assert fig.layout.title.text.startswith("v7 vs v8: regression<br><sup>p50 ")
    assert [t.name for t in fig.data] == ["v7", "v8"]
    for trace in fig.data:
        assert sum(trace.y) == pytest.approx(100.0)  # shares, so volumes compare
    assert list(fig.data[0].x) == list(fig.data[1].x)  # shared bins
    same = viz.compare(before, before)
    assert same.layout.meta["regression"] is False
    assert "no regression" in same.layout.title.text
    assert len(fig.layout.shapes) == 6


def _log_figure(figure: str) -> Any:
    before, after = F.latencies(1000), F.latencies(1000, median_ms=400, seed=3)
    if figure == "latency_distribution":
        return viz.latency_distribution(after, log=True), after
    return viz.compare(before, after, log=True), after


@pytest.mark.parametrize("figure", ["latency_distribution", "compare"])
def test_on_a_log_axis_labels_sit_at_the_log_of_their_percentile(figure: str) -> None:
    fig, after = _log_figure(figure)
    assert fig.layout.xaxis.type == "log"
    wanted = np.percentile(after["duration_ms"], [50, 95, 99])
    # plotly draws a shape at its value but places an annotation at the log10 of its x: a
    # label at x=800 sat at 10^800 and stretched the axis over two hundred decades
    assert [s.x0 for s in fig.layout.shapes][-3:] == pytest.approx(list(wanted))
    labels = [a for a in fig.layout.annotations if " ms" in a.text][-3:]
    assert [a.x for a in labels] == pytest.approx(list(np.log10(wanted)))


@pytest.mark.parametrize("figure", ["latency_distribution", "compare"])
def test_a_log_axis_renders_the_range_of_the_data(figure: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    fig, after = _log_figure(figure)
    page_file = tmp_path / "figure.html"
    page_file.write_text(fig.to_html(include_plotlyjs=True, full_html=True))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_selector(".xtick text")
            ticks = [t.text_content() for t in page.query_selector_all(".xtick text")]
            shown = page.evaluate(
                "document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range"
            )
        finally:
            chromium.close()
    low, high = float(after["duration_ms"].min()), float(after["duration_ms"].max())
    assert "1000" in ticks, ticks
    # the axis spans the data (in decades), not the data and 10^800
    assert np.log10(low) - 1 <= shown[0] and shown[1] <= np.log10(high) + 1, shown


def test_node_capacity_shows_requested_and_free_per_node() -> None:
    fig = viz.node_capacity(F.nodes())
    cpu_requested, cpu_free = fig.data[0], fig.data[1]
    assert list(cpu_requested.y) == ["cpu-0", "h100-0", "l4-0 (not ready)"]
    assert list(cpu_requested.x) == [20.0, 150.0, 0.0]
    assert list(cpu_free.x) == pytest.approx([11.6, 50.0, 46.0])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: viz.trace_waterfall(pd.DataFrame({"span_id": []})), "missing column 'service'"),
        (lambda: viz.service_map(pd.DataFrame({"parent": []})), "missing column 'calls'"),
        (lambda: viz.timeseries(pd.DataFrame({"ts": []})), "missing column 'timestamp'"),
        (lambda: viz.latency_distribution([1, 2]), "expected a pandas DataFrame, got list"),
    ],
)
def test_a_wrong_frame_is_a_clear_error_naming_the_figure_and_column(build, message) -> None:
    with pytest.raises(ParameterError, match=message):
        build()


def test_long_span_labels_are_cut_and_the_bars_keep_most_of_the_width() -> None:
    """Labels of 90 characters once left the bars about 90 px of a 900 px chart."""
    spans = F.known_trace(service="recommendation-feature-store-" * 3)
    fig = viz.trace_waterfall(spans)
    labels = list(fig.layout.yaxis.ticktext)
    assert max(map(len, labels)) <= viz.traces.LABEL_CHARS
    assert labels[0].endswith("…")
    # The margin fits the longest label; the legend sits above the bars, not beside them.
    assert fig.layout.margin.l <= 0.4 * 900
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "bottom"
    root = next(t for t in fig.data if t.name.startswith("recommendation"))
    assert root.customdata[0][0] == "recommendation-feature-store-" * 3  # hover: whole name


def test_gpu_allocation_as_bars_holds_the_same_gpus_per_holder() -> None:
    """Reports draw the holders as bars: plotly.js's partial bundles have no treemap."""
    fig = viz.gpu_allocation(F.allocation(), F.inventory(), holders="bars")
    assert {t.type for t in fig.data} == {"bar"}
    held = {
        (t.name, y): x for t in fig.data[:-2] for x, y in zip(t.x, t.y, strict=True)
    }  # a trace per workspace, then the inventory's allocated and free
    tree = viz.gpu_allocation(F.allocation(), F.inventory()).data[0]
    leaves = {i: v for i, v in zip(tree.ids, tree.values, strict=True) if i.count("/") == 3}
    assert sorted(held.values()) == sorted(leaves.values())
    assert held[("assistant", "assistant/llm-chat")] == 6
    order = list(fig.layout.yaxis.categoryarray)
    assert order[0] == "assistant/llm-chat" and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.title.text == "GPUs allocated: 12, free: 12 of 24"
    with pytest.raises(ParameterError, match="holders: 'pie' is not one of treemap, bars"):
        viz.gpu_allocation(F.allocation(), holders="pie")


def _segment_meets_box(a: tuple[float, float], b: tuple[float, float], box) -> bool:
    """Whether the segment a-b passes through the box (left, bottom, right, top)."""
    (x0, y0), (x1, y1) = a, b
    lo, hi = 0.0, 1.0
    for p, q in ((-(x1 - x0), x0 - box[0]), (x1 - x0, box[2] - x0),
                 (-(y1 - y0), y0 - box[1]), (y1 - y0, box[3] - y0)):  # fmt: skip
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
    return lo <= hi


def _service_map_geometry(fig) -> tuple[dict, list, list]:
    """In pixels: the box of each service's name, each arrow's segments with its half
    width, each service's dot. Checks first that the chart draws one pixel per unit."""
    lay = fig.layout
    (x0, x1), (y0, y1) = lay.xaxis.range, lay.yaxis.range
    assert lay.width - lay.margin.l - lay.margin.r == pytest.approx(x1 - x0)
    assert lay.height - lay.margin.t - lay.margin.b == pytest.approx(y1 - y0)
    names = [a for a in lay.annotations if a.text]
    boxes = {}
    for a in names:
        w = _map_layout.label_width(
            a.text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        )
        bottom = a.y + a.yshift
        boxes[a.text] = (a.x - w / 2, bottom, a.x + w / 2, bottom + _map_layout.LABEL_H)
        assert x0 <= boxes[a.text][0] and boxes[a.text][2] <= x1  # inside the drawing
        assert y0 <= bottom and boxes[a.text][3] <= y1
    segments = [
        ((t.x[i], t.y[i]), (t.x[i + 1], t.y[i + 1]), t.line.width / 2, t.name)
        for t in fig.data if t.mode == "lines" for i in range(len(t.x) - 1)
    ]  # fmt: skip
    nodes = next(t for t in fig.data if t.name == "services")
    dots = list(zip(nodes.x, nodes.y, strict=True))
    assert len(boxes) == len(dots)  # every service is named
    return boxes, segments, dots


@pytest.mark.parametrize(
    "deps", [F.demo_dependencies(), F.dense_dependencies()], ids=["demo", "dense"]
)
def test_service_map_names_meet_no_arrow_no_other_name_and_no_service(deps) -> None:
    """Issue 17: names on the static service map crossed arrows and dots."""
    fig = viz.service_map(pd.concat([deps, deps]))  # each call listed twice, too
    assert fig.layout.height == viz.service_map(deps).layout.height  # no row for the repeat
    boxes, segments, dots = _service_map_geometry(fig)
    r = _map_layout.NODE_R
    crossed = [
        (name, edge)
        for name, (left, bottom, right, top) in boxes.items()
        for a, b, half, edge in segments
        if _segment_meets_box(a, b, (left - half, bottom - half, right + half, top + half))
    ]
    assert crossed == []
    meeting = [
        (m, n)
        for (m, p), (n, q) in itertools.combinations(boxes.items(), 2)
        if p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]
    ]
    assert meeting == []
    on_dots = [
        name
        for name, (left, bottom, right, top) in boxes.items()
        for x, y in dots
        if left - r < x < right + r and bottom - r < y < top + r
    ]
    assert on_dots == []
    # Callers left of callees; an arrow ends level with its callee, at its dot.
    assert len({(round(a[1]), round(b[1])) for a, b, *_ in segments}) > 1
    for t in (t for t in fig.data if t.mode == "lines"):
        assert t.y[-1] == t.y[-2] and (t.x[-1], t.y[-1]) in dots


def test_service_map_rows_and_cycles() -> None:
    """Sixteen callees of one router sit a row apart; a callee calling back shares its
    caller's layer, and its arrow goes round in the gap."""
    callees = [f"model-{i:02d}" for i in range(16)]
    deps = pd.DataFrame(
        {"parent": ["router"] * 16, "child": callees, "calls": [10.0] * 16, "errors": [0.0] * 16}
    )
    fig = viz.service_map(deps)
    nodes = next(t for t in fig.data if t.name == "services")
    ys = sorted(y for x, y in zip(nodes.x, nodes.y, strict=True) if x > 0)
    step = _map_layout.ROW_PX
    assert len(ys) == 16 and all(b - a == pytest.approx(step) for a, b in itertools.pairwise(ys))
    loop = pd.concat(
        [
            deps,
            pd.DataFrame(
                {"parent": ["model-00"], "child": ["router"], "calls": [1.0], "errors": [0.0]}
            ),
        ]
    )
    back = _map_layout.layers(list(zip(loop["parent"], loop["child"], strict=True)))
    assert back["router"] == back["model-00"] == 0 and back["model-01"] == 1
    fig = viz.service_map(loop)
    around = next(t for t in fig.data if t.name == "model-00 → router")
    assert len(set(around.x[1:3])) == 1 and around.x[1] > around.x[0]  # out, along, back
    long = viz.service_map(loop.assign(child=loop["child"].str.replace("model", "m" * 40)))
    names = [a.text for a in long.layout.annotations if a.text]
    assert max(map(len, names)) == viz.services.LABEL_CHARS and any(n.endswith("…") for n in names)


def test_gpu_memory_heatmap_has_a_scale_per_product_up_to_its_memory() -> None:
    """30 GiB is most of a 40 GB A100 and a third of an 80 GB H100: never one scale."""
    frame = F.gpu_metrics().assign(value=lambda f: f["value"] * 2**30)
    frame.loc[frame["modelName"] == "NVIDIA-L4", "modelName"] = "NVIDIA-A100-SXM4-40GB"
    fig = viz.gpu_heatmap(frame, kind="memory")
    a100, h100 = fig.data
    assert (a100.coloraxis, h100.coloraxis) == ("coloraxis", "coloraxis2")
    assert (fig.layout.coloraxis.cmax, fig.layout.coloraxis2.cmax) == (40.0, 80.0)
    # Each panel's colour bar sits beside its own panel.
    assert fig.layout.coloraxis.colorbar.y > 0.5 > fig.layout.coloraxis2.colorbar.y
    # Utilisation keeps one 0-100 % scale for every product.
    assert {t.coloraxis for t in viz.gpu_heatmap(F.gpu_metrics()).data} == {"coloraxis"}
