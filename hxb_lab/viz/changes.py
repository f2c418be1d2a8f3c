"""The "changes" lane: the cluster's rollouts, scale-ups, cordons and config changes as
marks on a strip under a time chart, so a jump in latency or GPU use sits above the change
that came just before it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["LANE", "with_changes"]

#: What the lane shows, top to bottom (rows of `wb.cluster.history()` by their `what`).
LANE = ("rollout", "scale", "cordon", "uncordon", "taint", "config")
_SYMBOLS = {
    "rollout": "diamond",
    "scale": "triangle-up",
    "cordon": "x",
    "uncordon": "circle-open",
    "taint": "square",
    "config": "star",
}
_LANE_SHARE = 0.2  # of the plot's height


def with_changes(fig: go.Figure, changes: pd.DataFrame) -> go.Figure:
    """A copy of the time chart `fig` with a lane of `changes` (a `wb.cluster.history()`
    frame) under it, on the same time axis; hovering a mark tells what changed and who
    changed it. ``layout.meta["changes"]`` counts the marks."""
    import plotly.graph_objects as go

    _frames.require(
        changes, ["time", "kind", "namespace", "name", "what", "who", "summary"], "with_changes"
    )
    out = go.Figure(fig)
    shown = changes[changes["what"].isin(LANE)]
    present = [w for w in LANE if w in set(shown["what"])]
    meta = dict(out.layout.meta or {})
    meta["changes"] = len(shown)
    out.update_layout(
        meta=meta,
        yaxis={"domain": [_LANE_SHARE + 0.08, 1.0]},
        yaxis2={
            "domain": [0.0, _LANE_SHARE],
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(reversed(present)) or ["changes"],
            "title": {"text": "changes"},
            "fixedrange": True,
        },
        xaxis={"anchor": "y2"},
    )
    if shown.empty:
        out.add_trace(
            go.Scatter(x=[], y=[], yaxis="y2", name="changes", showlegend=False, hoverinfo="skip")
        )
        return out
    for what in present:
        rows = shown[shown["what"] == what]
        text = [
            _theme.esc(
                f"{r.kind} {r.namespace + '/' if r.namespace else ''}{r.name}: {r.summary}"
                + (f" (by {r.who})" if r.who else "")
            )
            for r in rows.itertuples(index=False)
        ]
        out.add_trace(
            go.Scatter(
                x=rows["time"].dt.tz_convert(None),
                y=[what] * len(rows),
                yaxis="y2",
                mode="markers",
                marker={"symbol": _SYMBOLS[what], "size": 11},
                name=what,
                legendgroup="changes",
                showlegend=False,
                text=text,
                hovertemplate="%{text}<br>%{x|%Y-%m-%d %H:%M:%S} UTC<extra>" + what + "</extra>",
            )
        )
    return out
