"""`timeseries()`: one line per series of a tidy metrics frame, downsampled when long."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.viz import _frames, _theme

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["MAX_POINTS", "downsample", "timeseries"]

#: Most points a figure carries per series: beyond this a browser slows down and a report
#: grows, while a screen a few thousand pixels wide shows no more detail.
MAX_POINTS = 4000
#: Above this many points in all, lines are drawn with WebGL.
_WEBGL_FROM = 20_000
#: A legend beside the plot takes its width from the longest name: past this many
#: characters, or this many series, it goes below the plot, whose height it then adds to.
LEGEND_BESIDE_CHARS = 24
LEGEND_BESIDE_SERIES = 10
#: Legend names are cut to this many characters (the hover shows the whole name).
LEGEND_CHARS = 60
#: Rough legend geometry, in pixels, for a chart about 900 px wide.
_ROW_PX, _CHAR_PX, _ENTRY_PX, _WIDTH_PX = 20, 7, 44, 900


def _legend_layout(names: list[str], height: float) -> dict[str, Any]:
    """Where the legend goes so the plot keeps its room: beside it when names are short
    and few, else in rows below it, the figure growing by those rows."""
    if len(names) <= 1:
        return {"showlegend": False}
    if max(map(len, names)) <= LEGEND_BESIDE_CHARS and len(names) <= LEGEND_BESIDE_SERIES:
        return {"showlegend": True}
    rows, used = 1, 0.0
    for name in names:
        width = _ENTRY_PX + _CHAR_PX * len(name)
        if used and used + width > _WIDTH_PX:
            rows, used = rows + 1, 0.0
        used += width
    below = 64 + _ROW_PX * rows  # the time axis, its title, then the legend's rows
    return {
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
        },
        "margin": {"b": below},
        "height": height + below,
    }


def _short(name: str) -> str:
    return name if len(name) <= LEGEND_CHARS else name[: LEGEND_CHARS - 1] + "…"


def downsample(
    ticks: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS, *, even: bool = False
) -> np.ndarray:
    """Positions of at most `max_points` samples that keep a series' shape (MinMaxLTTB).

    `ticks` must be sorted; `even=True` says they are evenly spaced, which lets the
    sampler skip the time axis (several times faster, same choice). NaN gaps survive
    (the NaN-aware variant is used when needed).
    """
    import numpy as np
    from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

    if len(values) <= max_points:
        return np.arange(len(values))
    nan_aware = bool(np.isnan(values).any())
    sampler = NaNMinMaxLTTBDownsampler() if nan_aware else MinMaxLTTBDownsampler()  # type: ignore[no-untyped-call]
    if even:
        chosen: np.ndarray = sampler.downsample(values, n_out=max_points)
    else:
        chosen = sampler.downsample(ticks, values, n_out=max_points)
    return chosen.astype(np.int64, copy=False)


def _series_name(key: Any, labels: Sequence[str], varying: set[str]) -> str:
    """Legend name: the labels that tell series apart, ``k=v`` when there are several."""
    values = key if isinstance(key, tuple) else (key,)
    pairs = [
        (k, v)
        for k, v in zip(labels, values, strict=True)
        if k in varying and v is not None and v == v and str(v) != ""
    ]
    if len(pairs) == 1:
        return _theme.esc(pairs[0][1])
    return ", ".join(f"{_theme.esc(k)}={_theme.esc(v)}" for k, v in pairs)


def timeseries(
    frame: pd.DataFrame,
    *,
    x: str = "timestamp",
    y: str = "value",
    series: Sequence[str] | None = None,
    title: str | None = None,
    unit: str = "",
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """One line per series of a tidy frame (`x`, `y`, and one column per label).

    Series are the distinct values of the `series` columns (default: every column but `x`
    and `y`), named by their labels in legend and hover. A series longer than `max_points`
    is downsampled with MinMaxLTTB, and the title says so; ``layout.meta`` holds
    ``{"points": <in the frame>, "shown": <in the figure>, "downsampled": bool}``.
    """
    import numpy as np
    import plotly.graph_objects as go

    _frames.require(frame, [x, y], "timeseries")
    labels = list(series) if series is not None else [c for c in frame.columns if c not in (x, y)]
    _frames.require(frame, labels, "timeseries")
    heading = _theme.esc(title if title is not None else y)
    fig = _theme.new_figure(heading)
    if frame.empty:
        fig.update_layout(meta={"points": 0, "shown": 0, "downsampled": False})
        return _theme.no_data(fig)

    ticks, tick_unit = _frames.timestamps(frame[x])
    values = frame[y].to_numpy(dtype="float64", na_value=np.nan)
    groups: dict[Any, np.ndarray | slice]
    if labels:
        groups = frame.groupby(labels, sort=True, dropna=False).indices
    else:
        groups = {None: slice(None)}  # one series: no copy of ten million points

    keys = [k if isinstance(k, tuple) else (k,) for k in groups]
    varying = {c for i, c in enumerate(labels) if len({k[i] for k in keys}) > 1} or set(labels)
    lines: list[tuple[str, np.ndarray, np.ndarray]] = []
    shown = 0
    for key, positions in groups.items():
        xs, ys = ticks[positions], values[positions]
        steps = np.diff(xs)
        if steps.size and steps.min() < 0:
            order = np.argsort(xs, kind="stable")
            xs, ys = xs[order], ys[order]
            steps = np.diff(xs)
        even = bool(steps.size) and bool(steps.min() == steps.max())
        keep = downsample(xs, ys, max_points, even=even)
        if len(keep) < len(xs):
            xs, ys = xs[keep], ys[keep]
        shown += len(xs)
        name = _theme.esc(y) if key is None else _series_name(key, labels, varying)
        lines.append((name, xs.view(f"datetime64[{tick_unit}]"), ys))

    trace = go.Scattergl if shown > _WEBGL_FROM else go.Scatter
    suffix = _theme.esc(unit)
    hover = f"%{{meta}}<br>%{{x|%Y-%m-%d %H:%M:%S}} UTC<br>%{{y:.4~g}}{suffix}<extra></extra>"
    fig.add_traces(
        [
            trace(x=xs, y=ys, name=_short(name), meta=name, mode="lines", hovertemplate=hover)
            for name, xs, ys in lines
        ]
    )
    downsampled = shown < len(frame)
    if downsampled:
        fig.update_layout(
            title={
                "text": f"{heading}<br><sup>downsampled to at most {max_points:,} points "
                f"per series, from {len(frame):,}</sup>"
            }
        )
    fig.update_layout(
        meta={"points": len(frame), "shown": shown, "downsampled": downsampled},
        **_legend_layout([_short(name) for name, _, _ in lines], float(fig.layout.height or 400)),
    )
    fig.update_layout(
        legend_title_text=", ".join(_theme.esc(c) for c in labels if c in varying),
        xaxis_title="time (UTC)",
        yaxis_title=suffix or None,
        hovermode="x unified" if len(lines) <= 12 else "closest",
    )
    return fig
