"""Guard-rail figures: Gatekeeper violations per constraint and workspace, and Falco's
alerts on a time line by rule (marker colour: priority)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["falco_timeline", "violations_by_constraint"]

VIOLATION_COLUMNS = ("constraint", "enforcement_action", "workspace", "namespace")
FALCO_COLUMNS = ("time", "priority", "rule", "namespace", "pod", "command")
PRIORITY_COLORS = {
    "Emergency": "#8d2b0b",
    "Alert": "#ab091e",
    "Critical": _theme.ERROR,
    "Error": "#e66a6a",
    "Warning": "#f0b429",
    "Notice": "#9fb3c8",
    "Informational": "#bcccdc",
    "Debug": "#d9e2ec",
}


def violations_by_constraint(violations: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """How many objects each constraint found in violation (``wb.policy.violations()``),
    stacked by workspace (or namespace when it belongs to none)."""
    _frames.require(violations, VIOLATION_COLUMNS, "violations_by_constraint")
    heading = _theme.esc(title) if title else f"{plural(len(violations), 'policy violation')}"
    if violations.empty:
        return _theme.no_data(_theme.new_figure(heading), "no violations")
    frame = violations.assign(
        where=violations["workspace"].where(violations["workspace"] != "", violations["namespace"]),
        label=violations["constraint"] + " (" + violations["enforcement_action"] + ")",
    )
    counts = frame.groupby(["label", "where"]).size().unstack(fill_value=0)
    colors = _theme.colors_for(counts.columns.astype(str))
    fig = _theme.new_figure(heading, barmode="stack", height=max(240, 120 + 40 * len(counts)))
    for where in counts.columns:
        fig.add_bar(
            y=[_theme.esc(i) for i in counts.index],
            x=counts[where].to_numpy(),
            orientation="h",
            name=_theme.esc(where) or "cluster-wide",
            marker_color=colors[str(where)],
            hovertemplate="%{y}<br>%{x} in " + _theme.esc(where) + "<extra></extra>",
        )
    fig.update_xaxes(title={"text": "objects in violation"})
    return fig


def falco_timeline(events: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Falco's alerts (``wb.policy.falco_events()``): one marker per alert at its time, one
    row per rule, coloured by priority; the hover names pod and command."""
    import pandas as pd

    _frames.require(events, FALCO_COLUMNS, "falco_timeline")
    heading = _theme.esc(title) if title else f"{plural(len(events), 'Falco alert')}"
    if events.empty:
        return _theme.no_data(_theme.new_figure(heading), "no Falco alerts in this range")
    fig = _theme.new_figure(heading, height=max(240, 120 + 36 * events["rule"].nunique()))
    for priority in [p for p in PRIORITY_COLORS if p in set(events["priority"])]:
        part = events[events["priority"] == priority]
        where = [
            f"{_theme.esc(ns)}/{_theme.esc(pod)}: {_theme.esc(cmd)}"
            for ns, pod, cmd in zip(part["namespace"], part["pod"], part["command"], strict=True)
        ]
        fig.add_scatter(
            x=pd.to_datetime(part["time"], utc=True).dt.tz_localize(None),
            y=[_theme.esc(r) for r in part["rule"]],
            mode="markers",
            name=priority,
            marker={"color": PRIORITY_COLORS[priority], "size": 12, "symbol": "diamond"},
            customdata=where,
            hovertemplate="%{x}<br>%{y}<br>%{customdata}<extra></extra>",
        )
    return fig
