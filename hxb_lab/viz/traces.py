"""`trace_waterfall()`: one trace's spans as a Gantt chart, with errors and the critical path."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["attribute_pairs", "critical_path", "trace_waterfall"]

SPAN_COLUMNS = ("span_id", "parent_span_id", "service", "operation", "offset_ms", "duration_ms")
_ATTRIBUTES_SHOWN = 12
_ATTRIBUTE_WIDTH = 80
#: Most characters of a span's label ("service: operation", indented by depth) beside the
#: bars; a longer one is cut with "…" and the hover gives it whole. At 12 px that is at
#: most about 300 px, so the bars keep most of the width.
LABEL_CHARS = 44


def is_error(status: object) -> bool:
    """Both spellings of the OpenTelemetry error status (``Error``, ``STATUS_CODE_ERROR``)."""
    return isinstance(status, str) and status.lower() in ("error", "status_code_error")


def critical_path(spans: pd.DataFrame) -> list[str]:
    """Span ids on the critical path (as Jaeger draws it): from the root, the child that
    finished last, then the one that finished last before that child started, and so on,
    recursively; children that ran in parallel with a chosen one are not on it.
    """
    _frames.require(spans, SPAN_COLUMNS, "critical_path")
    ids = spans["span_id"].astype(str).tolist()
    start = dict(zip(ids, spans["offset_ms"].astype(float), strict=True))
    end = {i: start[i] + d for i, d in zip(ids, spans["duration_ms"].astype(float), strict=True)}
    parents = [str(p) if isinstance(p, str) and p else "" for p in spans["parent_span_id"]]
    children: dict[str, list[str]] = {}
    for span, parent in zip(ids, parents, strict=True):
        if parent in start:
            children.setdefault(parent, []).append(span)
    roots = [s for s, p in zip(ids, parents, strict=True) if p not in start]
    if not roots:
        return []
    path: list[str] = []
    stack = [max(roots, key=lambda s: end[s] - start[s])]
    while stack:
        span = stack.pop()
        path.append(span)
        cursor = end[span]
        # A child outliving its parent counts until the parent ends; one that overlaps the
        # child already chosen ran in parallel with it and is not on the path.
        kids = sorted(children.get(span, []), key=lambda c: min(end[c], end[span]), reverse=True)
        for child in kids:
            if min(end[child], end[span]) <= cursor and start[child] < cursor:
                stack.append(child)
                cursor = start[child]
    return path


def attribute_pairs(value: Any) -> list[tuple[str, str]]:
    """A span's attributes (a dict, key-value pairs or JSON text) as sorted (key, text) pairs."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [("attributes", value)]
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        try:
            pairs = [tuple(p) for p in value]
        except TypeError:
            return [("attributes", str(value))]
    return [(str(k), str(v)) for k, v in sorted(pairs)]


def _hover_attributes(value: Any) -> str:
    pairs = attribute_pairs(value)
    lines = []
    for key, text in pairs[:_ATTRIBUTES_SHOWN]:
        if len(text) > _ATTRIBUTE_WIDTH:
            text = text[: _ATTRIBUTE_WIDTH - 1] + "…"
        lines.append(f"{_theme.esc(key)}: {_theme.esc(text)}")
    if len(pairs) > _ATTRIBUTES_SHOWN:
        lines.append(f"… {len(pairs) - _ATTRIBUTES_SHOWN} more")
    return "<br>".join(lines)


def _cut(text: str, chars: int) -> str:
    """`text` in at most `chars` characters, a cut one ending in "…"."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _depths(spans: pd.DataFrame) -> list[int]:
    if "depth" in spans.columns:
        return [int(d) for d in spans["depth"].fillna(0)]
    parent_of = dict(zip(spans["span_id"].astype(str), spans["parent_span_id"], strict=True))
    out = []
    for span in spans["span_id"].astype(str):
        depth, seen = 0, {span}
        parent = parent_of.get(span)
        while isinstance(parent, str) and parent in parent_of and parent not in seen:
            seen.add(parent)
            depth += 1
            parent = parent_of[parent]
        out.append(depth)
    return out


def trace_waterfall(
    spans: pd.DataFrame,
    *,
    critical: Iterable[str] | pd.DataFrame | None = None,
    title: str | None = None,
) -> go.Figure:
    """The spans of one trace as horizontal bars from `offset_ms` for `duration_ms`, one row
    each in the frame's order (``wb.traces.get(trace_id)`` is already a waterfall), coloured
    by service; errors get a red outline and an ✕ at their end, the critical path a dark bar
    inside its spans. `critical` is span ids or ``wb.traces.critical_path()`` (default:
    computed here). Hover shows operation, kind, timing, status and attributes.
    """
    import numpy as np
    import pandas as pd

    _frames.require(spans, SPAN_COLUMNS, "trace_waterfall")
    fig = _theme.new_figure(_theme.esc(title) if title else None)
    if spans.empty:
        return _theme.no_data(fig, "no spans")
    if critical is None:
        on_path = set(critical_path(spans))
    elif isinstance(critical, pd.DataFrame):
        _frames.require(critical, ["span_id"], "trace_waterfall critical path")
        on_path = set(critical["span_id"].astype(str))
    else:
        on_path = {str(s) for s in critical}

    rows = np.arange(len(spans))
    ids = spans["span_id"].astype(str).to_numpy()
    offset = spans["offset_ms"].to_numpy(dtype=float)
    duration = spans["duration_ms"].to_numpy(dtype=float)
    services = spans["service"].astype(str).to_numpy()
    operations = spans["operation"].astype(str).to_numpy()
    status = spans["status"].tolist() if "status" in spans.columns else [""] * len(spans)
    errors = np.array([is_error(s) for s in status], dtype=bool)
    depth = _depths(spans)
    self_time = spans["self_time_ms"].to_numpy(dtype=float) if "self_time_ms" in spans else duration
    kinds = spans["kind"].astype(str).tolist() if "kind" in spans.columns else [""] * len(spans)
    starts = (
        spans["start"].dt.strftime("%H:%M:%S.%f").str[:-3].tolist()
        if "start" in spans.columns
        else [""] * len(spans)
    )
    attrs = spans["attributes"].tolist() if "attributes" in spans.columns else [None] * len(spans)
    custom = np.array(
        [
            [
                _theme.esc(services[i]),
                _theme.esc(operations[i]),
                _theme.esc(kinds[i]),
                _theme.esc(status[i] or "unset"),
                starts[i],
                self_time[i],
                _hover_attributes(attrs[i]),
                ids[i],
            ]
            for i in rows
        ],
        dtype=object,
    )
    hover = (
        "<b>%{customdata[0]}</b>: %{customdata[1]}<br>"
        "%{x:.2f} ms from %{base:.2f} ms (self %{customdata[5]:.2f} ms)<br>"
        "start %{customdata[4]} UTC · kind %{customdata[2]} · status %{customdata[3]}<br>"
        "%{customdata[6]}<extra></extra>"
    )
    colors = _theme.colors_for(services)
    for service in sorted(set(services)):
        mine = services == service
        fig.add_bar(
            y=rows[mine],
            x=duration[mine],
            base=offset[mine],
            orientation="h",
            name=_theme.esc(service),
            width=0.7,
            customdata=custom[mine],
            hovertemplate=hover,
            marker={
                "color": colors[service],
                "line": {
                    "color": [_theme.ERROR if e else colors[service] for e in errors[mine]],
                    "width": [2.5 if e else 0 for e in errors[mine]],
                },
            },
        )
    path = np.array([i in on_path for i in ids], dtype=bool)
    if path.any():
        fig.add_bar(
            y=rows[path],
            x=duration[path],
            base=offset[path],
            orientation="h",
            name="critical path",
            width=0.18,
            marker={"color": _theme.INK},
            customdata=custom[path],
            hovertemplate=hover,
        )
    if errors.any():
        fig.add_scatter(
            y=rows[errors],
            x=offset[errors] + duration[errors],
            mode="markers",
            name="error",
            marker={"symbol": "x", "size": 10, "color": _theme.ERROR},
            customdata=custom[errors],
            hovertemplate=hover,
        )
    shown = [
        _cut("\u2007" * (2 * min(d, 8)) + f"{s}: {o}", LABEL_CHARS)
        for d, s, o in zip(depth, services, operations, strict=True)
    ]
    labels = [_theme.esc(label) for label in shown]
    total = float(np.nanmax(offset + duration))
    heading = (
        _theme.esc(title) if title else f"trace: {plural(len(spans), 'span')}, {total:,.1f} ms"
    )
    fig.update_layout(
        title={"text": heading},
        barmode="overlay",
        bargap=0.2,
        height=max(240, 120 + 24 * len(spans)),
        meta={"critical_path": [str(i) for i in ids[path]], "errors": int(errors.sum())},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
        # Room for the longest label (about 7 px a character) and the legend above the bars.
        margin={"l": 16 + 7 * max(map(len, shown)), "t": 84},
    )
    fig.update_yaxes(
        tickvals=rows, ticktext=labels, autorange="reversed", showgrid=False, title=None
    )
    fig.update_xaxes(title_text="ms since the trace started", range=[0, total * 1.02 or 1])
    return fig
