"""`node_capacity()`: what each node's pods request against what it can give, CPU and GPUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["node_capacity"]

NODE_COLUMNS = ("name", "cpu_allocatable", "cpu_requested", "gpu_allocatable", "gpu_requested")


def node_capacity(nodes: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Requested against allocatable CPU cores and GPUs per node (``wb.cluster.nodes()``);
    nodes that are not ready are named so in the axis label.
    """
    from plotly.subplots import make_subplots

    _frames.require(nodes, NODE_COLUMNS, "node_capacity")
    heading = _theme.esc(title) if title else f"capacity of {plural(len(nodes), 'node')}"
    if nodes.empty:
        return _theme.no_data(_theme.new_figure(heading))
    ready = nodes["ready"].astype(bool) if "ready" in nodes else [True] * len(nodes)
    names = [
        _theme.esc(n) + ("" if ok else " (not ready)")
        for n, ok in zip(nodes["name"].astype(str), ready, strict=True)
    ]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=["CPU (cores)", "GPUs"])
    fig.update_layout(template=_theme.template(), title={"text": heading})
    for col, resource in ((1, "cpu"), (2, "gpu")):
        requested = nodes[f"{resource}_requested"].to_numpy(dtype=float)
        allocatable = nodes[f"{resource}_allocatable"].to_numpy(dtype=float)
        for name, values, color in (
            ("requested", requested, _theme.PALETTE[0]),
            ("free", (allocatable - requested).clip(min=0), "#d9e2ec"),
        ):
            fig.add_bar(
                y=names,
                x=values,
                orientation="h",
                name=name,
                marker_color=color,
                legendgroup=name,
                showlegend=col == 1,
                hovertemplate=f"%{{y}}<br>{name}: %{{x:.4~g}}<extra></extra>",
                row=1,
                col=col,
            )
    fig.update_layout(barmode="stack", height=max(260, 100 + 22 * len(nodes)))
    fig.update_yaxes(autorange="reversed")
    return fig
