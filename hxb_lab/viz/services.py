"""`service_map()`: who calls whom, edge width by calls, node colour by error rate."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["layered_layout", "service_map"]

DEPENDENCY_COLUMNS = ("parent", "child", "calls")
MIN_WIDTH, MAX_WIDTH = 1.0, 12.0
#: Pixels between two services of one layer (node and its name, with a gap).
ROW_PX = 64


def layered_layout(edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Positions for a call graph: callers left of callees (layer: the longest call chain
    from a service nobody calls), the services of one layer spread evenly and vertically
    (networkx's multipartite layout), rows 1 apart and layers 1 apart.

    What networkx does not do, kept here: a call graph may have cycles (a service that
    calls back), which have no topological order and so no layers; each cycle is folded
    into one node first (networkx's condensation) and its services share a layer.
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(sorted({n for e in edges for n in e}))
    graph.add_edges_from((p, c) for p, c in edges if p != c)
    folded = nx.condensation(graph)
    depth: dict[int, int] = {}
    for part in nx.topological_sort(folded):
        depth[part] = max((depth[p] + 1 for p in folded.predecessors(part)), default=0)
    member_of = folded.graph["mapping"]
    for node in graph.nodes:
        graph.nodes[node]["layer"] = depth[member_of[node]]
    placed = nx.multipartite_layout(graph, subset_key="layer", align="vertical")
    # networkx scales the whole drawing into [-1, 1]; spread the rows 1 apart again.
    tallest = max(sum(1 for m in member_of if depth[member_of[m]] == d) for d in depth.values())
    spread = max(abs(float(y)) for _, y in placed.values()) or 1.0
    unit = (tallest - 1) / 2.0 / spread if tallest > 1 else 1.0
    return {
        node: (float(graph.nodes[node]["layer"]), -float(y) * unit + 0.0)
        for node, (_x, y) in placed.items()
    }


def service_map(
    deps: pd.DataFrame,
    services: pd.DataFrame | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """The dependency graph of ``wb.traces.dependencies()`` (parent, child, calls, errors,
    p95_ms): an arrow per caller → callee whose width grows with calls, a node per service
    coloured by its error rate (from `services`, ``wb.traces.services()``, when given; else
    the errors of the calls it receives). Hover gives calls, errors and p95.
    """
    import numpy as np

    _frames.require(deps, DEPENDENCY_COLUMNS, "service_map")
    heading = _theme.esc(title) if title else "service map"
    fig = _theme.new_figure(heading)
    if deps.empty:
        return _theme.no_data(fig, "no calls between services in this range")
    parents = deps["parent"].astype(str).tolist()
    children = deps["child"].astype(str).tolist()
    calls = deps["calls"].to_numpy(dtype=float)
    errs = deps["errors"].to_numpy(dtype=float) if "errors" in deps else np.zeros(len(deps))
    p95 = deps["p95_ms"].to_numpy(dtype=float) if "p95_ms" in deps else np.full(len(deps), np.nan)
    pos = layered_layout(list(zip(parents, children, strict=True)))
    top = float(calls.max()) or 1.0

    mid_x, mid_y, mid_text = [], [], []
    for i, (parent, child) in enumerate(zip(parents, children, strict=True)):
        if parent == child:
            continue
        (x0, y0), (x1, y1) = pos[parent], pos[child]
        width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * math.sqrt(calls[i] / top)
        rate = errs[i] / calls[i] if calls[i] else 0.0
        fig.add_scatter(
            x=[x0, x1],
            y=[y0, y1],
            mode="lines",
            line={"width": width, "color": _theme.ERROR if rate > 0.05 else "#9fb3c8"},
            opacity=0.65,
            hoverinfo="skip",
            showlegend=False,
            name=f"{_theme.esc(parent)} → {_theme.esc(child)}",
            meta={"calls": float(calls[i])},
        )
        fig.add_annotation(
            x=x1 - 0.18 * (x1 - x0),
            y=y1 - 0.18 * (y1 - y0),
            ax=x0 + 0.5 * (x1 - x0),
            ay=y0 + 0.5 * (y1 - y0),
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            text="",
            showarrow=True,
            arrowhead=2,
            arrowsize=1.2,
            arrowwidth=1.5,
            arrowcolor=_theme.MUTED,
        )
        mid_x.append((x0 + x1) / 2)
        mid_y.append((y0 + y1) / 2)
        mid_text.append(
            f"{_theme.esc(parent)} → {_theme.esc(child)}<br>{plural(calls[i], 'call')}, "
            f"{plural(errs[i], 'error')} ({rate:.1%})<br>p95 {p95[i]:,.1f} ms"
        )
    fig.add_scatter(
        x=mid_x,
        y=mid_y,
        mode="markers",
        marker={"size": 14, "opacity": 0},
        hovertext=mid_text,
        hoverinfo="text",
        showlegend=False,
        name="calls",
    )

    names = sorted(pos)
    received = dict.fromkeys(names, (0.0, 0.0))
    for child, c, e in zip(children, calls, errs, strict=True):
        total, failed = received[child]
        received[child] = (total + c, failed + e)
    rate_of = {n: (e / c if c else 0.0) for n, (c, e) in received.items()}
    if services is not None:
        _frames.require(services, ["service", "error_rate"], "service_map services")
        given = dict(zip(services["service"].astype(str), services["error_rate"], strict=True))
        rate_of.update({n: float(given[n]) for n in names if n in given})
    rates = [rate_of[n] for n in names]
    hover = [
        f"<b>{_theme.esc(n)}</b><br>{plural(received[n][0], 'call')} received<br>"
        f"error rate {rate_of[n]:.2%}"
        for n in names
    ]
    fig.add_scatter(
        x=[pos[n][0] for n in names],
        y=[pos[n][1] for n in names],
        mode="markers+text",
        text=[_theme.esc(n) for n in names],
        textposition="bottom center",
        hovertext=hover,
        hoverinfo="text",
        name="services",
        showlegend=False,
        marker={
            "size": 26,
            "color": rates,
            "cmin": 0.0,
            "cmax": max(0.05, max(rates)),
            "colorscale": _theme.HEALTH,
            "line": {"width": 1.5, "color": "white"},
            "colorbar": {"title": {"text": "error rate"}, "tickformat": ".0%"},
        },
    )
    depth = max(x for x, _ in pos.values())
    fig.update_xaxes(visible=False, range=[-0.5, depth + 0.5])
    fig.update_yaxes(visible=False)
    # The tallest layer sets the height: ROW_PX per service, so a name below its node
    # (26 px node, 15 px text) never reaches the node under it.
    tallest = max(sum(1 for x, _ in pos.values() if x == layer) for layer, _ in pos.values())
    fig.update_layout(height=max(320, ROW_PX * tallest + 140))
    return fig
