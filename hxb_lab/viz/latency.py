"""Latency histograms with p50/p95/p99 markers, alone or before against after a change.

Bins are computed here, so a figure of a million requests carries a few dozen bars,
not a million values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.errors import ParameterError
from hxb_lab.viz import _frames, _theme

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["PERCENTILES", "compare", "latency_distribution", "percentiles"]

PERCENTILES = (50, 95, 99)
_DASH = {50: "dot", 95: "dash", 99: "solid"}


def _values(frame: pd.DataFrame, column: str, figure: str) -> np.ndarray:
    import numpy as np

    _frames.require(frame, [column], figure)
    values: np.ndarray = np.asarray(frame[column].to_numpy(dtype=float, na_value=np.nan))
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def percentiles(values: np.ndarray) -> dict[int, float]:
    """p50, p95 and p99 of `values` (NaN when empty)."""
    import numpy as np

    if len(values) == 0:
        return {p: float("nan") for p in PERCENTILES}
    found = np.percentile(values, PERCENTILES)
    return {p: float(v) for p, v in zip(PERCENTILES, found, strict=True)}


def _edges(values: list[np.ndarray], bins: int, log: bool) -> np.ndarray:
    import numpy as np

    every = np.concatenate(values)
    low, high = float(every.min()), float(every.max())
    if log:
        low = max(low, 1e-3)
        if high <= low:
            high = low * 10
        return np.geomspace(low, high, bins + 1)
    if high <= low:
        high = low + 1.0
    return np.linspace(low, high, bins + 1)


def _bars(
    fig: go.Figure,
    values: np.ndarray,
    edges: np.ndarray,
    *,
    name: str,
    color: str,
    share: bool,
) -> None:
    import numpy as np

    counts, _ = np.histogram(values, bins=edges)
    heights = counts / max(1, len(values)) * 100 if share else counts
    unit = "% of requests" if share else "requests"
    fig.add_bar(
        x=(edges[:-1] + edges[1:]) / 2,  # centre ± width / 2 is the bin, on any axis type
        y=heights,
        width=np.diff(edges),
        name=name,
        marker={"color": color, "line": {"width": 0}},
        opacity=0.6 if share else 0.9,
        customdata=np.stack([edges[:-1], edges[1:], counts], axis=1),
        hovertemplate=f"{name}<br>%{{customdata[0]:.4~g}}–%{{customdata[1]:.4~g}} ms<br>"
        f"%{{y:.4~g}} {unit} (%{{customdata[2]}})<extra></extra>",
    )


def _markers(
    fig: go.Figure, marks: dict[int, float], color: str, prefix: str, row: int, log: bool
) -> None:
    """A vertical line and a label per percentile. On a log axis plotly draws a shape at its
    value but places an annotation at the log10 of its position, so the two are added
    apart (one call would put the label of 800 ms at 10^800 and stretch the axis)."""
    import math

    for i, (p, value) in enumerate(marks.items()):
        if value != value or (log and value <= 0):  # NaN, or no place on a log axis
            continue
        fig.add_vline(x=value, line={"color": color, "dash": _DASH[p], "width": 1.5})
        fig.add_annotation(
            x=math.log10(value) if log else value,
            xref="x",
            y=1,
            yref="y domain",
            xanchor="left",
            yanchor="top",
            showarrow=False,
            text=f"{prefix}p{p} {value:,.1f} ms",
            font={"size": 11, "color": color},
            yshift=-15 * (row * len(marks) + i),
        )


def latency_distribution(
    frame: pd.DataFrame,
    *,
    column: str = "duration_ms",
    bins: int = 60,
    log: bool = False,
    title: str | None = None,
) -> go.Figure:
    """Histogram of `column` (ms) with vertical markers at p50, p95 and p99.

    `frame` is any frame with a duration column: ``wb.traces.search()``, spans, requests.
    ``layout.meta`` holds ``{"p50": ..., "p95": ..., "p99": ..., "count": n}``.
    """
    if bins < 1:
        raise ParameterError([f"bins: must be at least 1, got {bins}"])
    values = _values(frame, column, "latency_distribution")
    marks = percentiles(values)
    heading = _theme.esc(title) if title else f"latency of {len(values):,} requests"
    fig = _theme.new_figure(heading)
    if len(values) == 0:
        return _theme.no_data(fig)
    _bars(
        fig,
        values,
        _edges([values], bins, log),
        name="requests",
        color=_theme.PALETTE[0],
        share=False,
    )
    _markers(fig, marks, _theme.INK, "", 0, log)
    fig.update_layout(
        bargap=0,
        showlegend=False,
        meta={**{f"p{p}": v for p, v in marks.items()}, "count": len(values)},
    )
    fig.update_xaxes(title_text=f"{_theme.esc(column)}", type="log" if log else "linear")
    fig.update_yaxes(title_text="requests")
    return fig


def _change(before: float, after: float) -> str:
    if before != before or after != after:
        return "n/a"
    if before == 0:
        return f"{before:,.1f} → {after:,.1f} ms"
    return f"{before:,.1f} → {after:,.1f} ms ({(after - before) / before:+.0%})"


def compare(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    column: str = "duration_ms",
    labels: tuple[str, str] = ("before", "after"),
    bins: int = 60,
    log: bool = False,
    threshold: float = 0.10,
    title: str | None = None,
) -> go.Figure:
    """Two latency distributions on shared bins (as shares of requests, so different volumes
    compare), with both sets of percentile markers; the title gives each percentile's change
    and says "regression" when p95 grew by more than `threshold` (10 %).

    ``layout.meta`` holds ``{"before": {...}, "after": {...}, "regression": bool}``.
    """
    if bins < 1:
        raise ParameterError([f"bins: must be at least 1, got {bins}"])
    old = _values(before, column, "compare (before)")
    new = _values(after, column, "compare (after)")
    old_marks, new_marks = percentiles(old), percentiles(new)
    regression = bool(new_marks[95] > old_marks[95] * (1 + threshold))
    a, b = (_theme.esc(label) for label in labels)
    changes = ", ".join(f"p{p} {_change(old_marks[p], new_marks[p])}" for p in PERCENTILES)
    verdict = "regression" if regression else "no regression"
    heading = _theme.esc(title) if title else f"{a} vs {b}: {verdict}"
    fig = _theme.new_figure(f"{heading}<br><sup>{changes}</sup>")
    if len(old) == 0 and len(new) == 0:
        return _theme.no_data(fig)
    edges = _edges([v for v in (old, new) if len(v)], bins, log)
    if len(old):
        _bars(fig, old, edges, name=a, color=_theme.PALETTE[0], share=True)
    if len(new):
        _bars(fig, new, edges, name=b, color=_theme.PALETTE[5], share=True)
    _markers(fig, old_marks, _theme.PALETTE[0], f"{a} ", 0, log)
    _markers(fig, new_marks, _theme.PALETTE[5], f"{b} ", 1, log)
    fig.update_layout(
        barmode="overlay",
        bargap=0,
        margin={"t": 80},
        meta={
            "before": {f"p{p}": v for p, v in old_marks.items()} | {"count": len(old)},
            "after": {f"p{p}": v for p, v in new_marks.items()} | {"count": len(new)},
            "regression": regression,
        },
    )
    fig.update_xaxes(title_text=_theme.esc(column), type="log" if log else "linear")
    fig.update_yaxes(title_text="% of requests")
    return fig
