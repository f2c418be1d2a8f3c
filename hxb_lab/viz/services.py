"""`service_map()`: who calls whom, edge width by calls, node colour by error rate."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _map_layout, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["service_map"]

DEPENDENCY_COLUMNS = ("parent", "child", "calls")
MIN_WIDTH, MAX_WIDTH = 1.0, 12.0
#: A service's name on the map is cut to this many characters (whole on hover).
LABEL_CHARS = 24
#: The margins around the drawing, in pixels: the title above, the colour bar at the right.
MARGIN = {"l": 12, "r": 120, "t": 56, "b": 12}
MIN_PLOT_HEIGHT = 200


def _shown(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


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

    The figure is drawn one pixel per unit (its width and height follow the graph), so a
    service's name, placed above it, never meets an arrow or another name (`_map_layout`).
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
    names = sorted(set(parents) | set(children))
    plan = _map_layout.lay_out(
        list(zip(parents, children, strict=True)), {n: _shown(n) for n in names}
    )
    top = float(calls.max()) or 1.0

    # Traces and annotations are gathered, then added at once (plotly's one-by-one adds
    # grow slower with every item already there).
    lines: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    mid_x, mid_y, mid_text = [], [], []
    arrows: set[tuple[float, float, float, float]] = set()
    for i, (parent, child) in enumerate(zip(parents, children, strict=True)):
        route = plan.routes.get((parent, child))
        if route is None:
            continue
        width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * math.sqrt(calls[i] / top)
        rate = errs[i] / calls[i] if calls[i] else 0.0
        lines.append(
            {
                "type": "scatter",
                "x": [x for x, _ in route],
                "y": [y for _, y in route],
                "mode": "lines",
                "line": {"width": width, "color": _theme.ERROR if rate > 0.05 else "#9fb3c8"},
                "opacity": 0.65,
                "hoverinfo": "skip",
                "showlegend": False,
                "name": f"{_theme.esc(parent)} → {_theme.esc(child)}",
                "meta": {"calls": float(calls[i])},
            }
        )
        # The head sits on the last stretch, level with the callee, just short of its dot.
        (ax, ay), (x1, y1) = route[-2], route[-1]
        arrows.add((ax, ay, x1 - math.copysign(_map_layout.NODE_R + 2, x1 - ax), y1))
        (mx0, my0), (mx1, my1) = route[1], route[2]
        mid_x.append((mx0 + mx1) / 2)
        mid_y.append((my0 + my1) / 2)
        mid_text.append(
            f"{_theme.esc(parent)} → {_theme.esc(child)}<br>{plural(calls[i], 'call')}, "
            f"{plural(errs[i], 'error')} ({rate:.1%})<br>p95 {p95[i]:,.1f} ms"
        )
    notes += [
        {"x": x, "y": y, "ax": ax, "ay": ay, "xref": "x", "yref": "y", "axref": "x",
         "ayref": "y", "text": "", "showarrow": True, "arrowhead": 2, "arrowsize": 1.2,
         "arrowwidth": 1.5, "arrowcolor": _theme.MUTED}
        for ax, ay, x, y in sorted(arrows)
    ]  # fmt: skip
    fig.add_traces(lines)
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
        x=[plan.nodes[n][0] for n in names],
        y=[plan.nodes[n][1] for n in names],
        mode="markers",
        text=[_theme.esc(n) for n in names],
        hovertext=hover,
        hoverinfo="text",
        name="services",
        showlegend=False,
        marker={
            "size": 2 * _map_layout.NODE_R,
            "color": rates,
            "cmin": 0.0,
            "cmax": max(0.05, max(rates)),
            "colorscale": _theme.HEALTH,
            "line": {"width": 1.5, "color": "white"},
            "colorbar": {
                "title": {"text": "error rate", "side": "right"},
                "tickformat": ".0%",
                "thickness": 16,
            },
        },
    )
    notes += [
        {"x": plan.nodes[n][0], "y": plan.nodes[n][1], "xref": "x", "yref": "y",
         "text": _theme.esc(_shown(n)), "showarrow": False, "xanchor": "center",
         "yanchor": "bottom", "yshift": _map_layout.NODE_R + _map_layout.LABEL_GAP,
         "borderpad": 1, "font": {"size": _map_layout.FONT_PX}, "name": "service name"}
        for n in names
    ]  # fmt: skip
    fig.update_layout(annotations=notes)
    # One pixel per unit: the axes span the drawing and the figure is sized to fit them
    # (a small map gets room above and below, so its title and colour bar fit).
    (x0, x1), (y0, y1) = plan.x_range, plan.y_range
    short = max(0, MIN_PLOT_HEIGHT - (y1 - y0))
    y0, y1 = y0 - short // 2, y1 + short - short // 2
    fig.update_xaxes(visible=False, range=[x0, x1], fixedrange=True)
    fig.update_yaxes(visible=False, range=[y0, y1], fixedrange=True)
    fig.update_layout(
        margin=MARGIN,
        width=x1 - x0 + MARGIN["l"] + MARGIN["r"],
        height=y1 - y0 + MARGIN["t"] + MARGIN["b"],
        autosize=False,
    )
    return fig
