"""GitOps figures: each Argo CD Application's sync and health at a glance, and the Tekton
pipeline runs on a time line (colour: how they ended)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["application_status", "pipeline_timeline"]

APPLICATION_COLUMNS = ("name", "sync_status", "health_status", "last_sync_error")
RUN_COLUMNS = ("name", "namespace", "status", "started", "finished", "duration_ms")
#: 0 good, 1 attention, 2 bad; anything else (Unknown, Missing, empty) 1.
LEVEL = {
    "Synced": 0,
    "Healthy": 0,
    "Succeeded": 0,
    "OutOfSync": 1,
    "Progressing": 1,
    "Suspended": 1,
    "Running": 1,
    "Pending": 1,
    "Degraded": 2,
    "Failed": 2,
}
RUN_COLORS = {
    "Succeeded": _theme.GOOD,
    "Failed": _theme.ERROR,
    "Running": "#f0b429",
    "Pending": _theme.MUTED,
    "Cancelled": _theme.MUTED,
}


def application_status(apps: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """One row per Application (``wb.gitops.applications()``), a cell for its sync and one
    for its health, green to red; the hover names the last sync error."""
    import plotly.graph_objects as go

    _frames.require(apps, APPLICATION_COLUMNS, "application_status")
    heading = _theme.esc(title) if title else f"{plural(len(apps), 'Argo CD Application')}"
    if apps.empty:
        return _theme.no_data(_theme.new_figure(heading), "no Argo CD Applications")
    names = [_theme.esc(n) for n in apps["name"].astype(str)]
    cells = [apps["sync_status"].astype(str).tolist(), apps["health_status"].astype(str).tolist()]
    errors = [_theme.esc(e) or "none" for e in apps["last_sync_error"].astype(str)]
    z = [[LEVEL.get(s, 1) for s in column] for column in zip(*cells, strict=True)]
    text = [[_theme.esc(s) or "?" for s in column] for column in zip(*cells, strict=True)]
    hover = [[f"last sync error: {e}"] * 2 for e in errors]
    fig = _theme.new_figure(heading, height=max(220, 80 + 30 * len(apps)))
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=["sync", "health"],
            y=names,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{y}: %{text}<br>%{customdata}<extra></extra>",
            colorscale=_theme.HEALTH,
            zmin=0,
            zmax=2,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def pipeline_timeline(runs: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Each PipelineRun (``wb.gitops.pipeline_runs()``) as a bar from its start to its end
    (to now while it runs), coloured by status."""
    import pandas as pd

    _frames.require(runs, RUN_COLUMNS, "pipeline_timeline")
    heading = _theme.esc(title) if title else f"{plural(len(runs), 'pipeline run')}"
    started = runs[runs["started"].notna()]
    if started.empty:
        return _theme.no_data(_theme.new_figure(heading), "no pipeline runs")
    fig = _theme.new_figure(heading, height=max(240, 90 + 26 * len(started)), barmode="overlay")
    labels = [
        f"{_theme.esc(ns)}/{_theme.esc(n)}"
        for ns, n in zip(started["namespace"], started["name"], strict=True)
    ]
    for status in sorted(set(started["status"].astype(str))):
        chosen = (started["status"].astype(str) == status).to_numpy()
        part = started[chosen]
        fig.add_bar(
            y=[label for label, keep in zip(labels, chosen, strict=True) if keep],
            x=part["duration_ms"].to_numpy(dtype=float),
            base=pd.to_datetime(part["started"], utc=True).dt.tz_localize(None),
            orientation="h",
            name=_theme.esc(status) or "no status",
            marker_color=RUN_COLORS.get(status, _theme.MUTED),
            hovertemplate="%{y}<br>%{base} for %{x:,.0f} ms<extra></extra>",
        )
    fig.update_xaxes(type="date")
    fig.update_yaxes(autorange="reversed")
    return fig
