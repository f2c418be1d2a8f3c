"""The platform's stack at a glance, one small figure per question an SRE asks of it:
how is traffic split, where is storage short, which autoscalers are pinned at their
maximum, which certificates expire soon, which notebooks hold GPUs idle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.viz import _frames, _theme
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "autoscaler_headroom",
    "certificate_expiry",
    "claim_status",
    "notebook_utilization",
    "traffic_split",
]

#: Days before expiry under which a certificate is drawn as urgent.
CERT_URGENT_DAYS = 14
_BAD, _OK, _MUTED = "#d64545", "#2f80ed", "#9aa5b1"


def _height(rows: int) -> int:
    return max(240, 110 + 26 * rows)


def traffic_split(routes: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Weight per subset of each VirtualService route (``wb.platform.routes()``), labelled
    with the revision it sends to; a subset no DestinationRule defines is drawn red."""
    _frames.require(
        routes, ("namespace", "virtual_service", "route", "subset", "weight"), "traffic_split"
    )
    fig = _theme.new_figure(_theme.esc(title) if title else "traffic split by route")
    if routes.empty:
        return _theme.no_data(fig, "no VirtualService routes")
    labels = [
        f"{_theme.esc(n)}/{_theme.esc(v)} {_theme.esc(r)}"
        for n, v, r in zip(
            routes["namespace"], routes["virtual_service"], routes["route"], strict=True
        )
    ]
    colors = _theme.colors_for(str(s) for s in routes["subset"].fillna("(no subset)"))
    for subset in routes["subset"].fillna("(no subset)").unique():
        mask = routes["subset"].fillna("(no subset)") == subset
        chosen = routes[mask]
        defined = chosen["subset_defined"] if "subset_defined" in chosen else [True] * len(chosen)
        revisions = chosen["revision"].fillna("") if "revision" in chosen else [""] * len(chosen)
        fig.add_bar(
            y=[lab for lab, m in zip(labels, mask, strict=True) if m],
            x=chosen["weight"],
            orientation="h",
            name=_theme.esc(subset),
            marker_color=[colors[str(subset)] if ok else _BAD for ok in defined],
            text=[f"{_theme.esc(subset)} {_theme.esc(r)}".strip() for r in revisions],
            hovertemplate="%{y}<br>%{text}: %{x}%<extra></extra>",
        )
    fig.update_layout(barmode="stack", height=_height(len(set(labels))))
    fig.update_xaxes(title_text="weight (%)", range=[0, 100])
    return fig


def claim_status(volumes: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Storage requested per StorageClass, bound against pending (``wb.platform.volumes()``)."""
    _frames.require(volumes, ("storage_class", "status", "requested_bytes"), "claim_status")
    fig = _theme.new_figure(_theme.esc(title) if title else "claimed storage by class")
    claims = volumes[~volumes["status"].astype(str).str.startswith("Volume")]
    if claims.empty:
        return _theme.no_data(fig, "no PersistentVolumeClaims")
    by = claims.assign(storage_class=claims["storage_class"].fillna("(none)"))
    for status, color in (("Bound", _OK), ("Pending", _BAD), ("Lost", _MUTED)):
        part = by[by["status"] == status].groupby("storage_class")["requested_bytes"].sum()
        if part.empty:
            continue
        fig.add_bar(
            y=[_theme.esc(c) for c in part.index],
            x=part.to_numpy() / 2**30,
            orientation="h",
            name=status,
            marker_color=color,
            hovertemplate="%{y}<br>" + status + ": %{x:.4~g} GiB<extra></extra>",
        )
    fig.update_layout(barmode="stack", height=_height(by["storage_class"].nunique()))
    fig.update_xaxes(title_text="requested (GiB)")
    return fig


def autoscaler_headroom(autoscalers: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Current replicas against the maximum of each autoscaler (``wb.platform.autoscalers()``);
    those at their maximum, which cannot scale further, are drawn red."""
    _frames.require(
        autoscalers,
        ("namespace", "name", "current_replicas", "max_replicas"),
        "autoscaler_headroom",
    )
    heading = (
        _theme.esc(title)
        if title
        else f"{plural(len(autoscalers), 'autoscaler')}: replicas against their maximum"
    )
    fig = _theme.new_figure(heading)
    if autoscalers.empty:
        return _theme.no_data(fig, "no autoscalers")
    names = [
        f"{_theme.esc(n)}/{_theme.esc(a)}"
        for n, a in zip(autoscalers["namespace"], autoscalers["name"], strict=True)
    ]
    current = autoscalers["current_replicas"].astype("float64").fillna(0)
    high = autoscalers["max_replicas"].astype("float64")
    at_max = autoscalers.get("at_max", current >= high)
    fig.add_bar(y=names, x=current, orientation="h", name="current",
                marker_color=[_BAD if m else _OK for m in at_max],
                hovertemplate="%{y}<br>current: %{x}<extra></extra>")  # fmt: skip
    fig.add_scatter(y=names, x=high, mode="markers", name="maximum",
                    marker={"symbol": "line-ns-open", "size": 18, "color": "#1f2933"},
                    hovertemplate="%{y}<br>maximum: %{x}<extra></extra>")  # fmt: skip
    fig.update_layout(height=_height(len(names)))
    fig.update_xaxes(title_text="replicas")
    fig.update_yaxes(autorange="reversed")
    return fig


def certificate_expiry(ingresses: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Days left on each host's TLS certificate (``wb.platform.ingresses()``); under
    `CERT_URGENT_DAYS` drawn red."""
    _frames.require(ingresses, ("namespace", "host", "tls_days_left"), "certificate_expiry")
    fig = _theme.new_figure(_theme.esc(title) if title else "TLS certificates: days left")
    tls = ingresses.dropna(subset=["tls_days_left"]).drop_duplicates(["namespace", "host"])
    if tls.empty:
        return _theme.no_data(fig, "no TLS certificate read")
    tls = tls.sort_values("tls_days_left")
    days = tls["tls_days_left"].to_numpy()
    fig.add_bar(
        y=[f"{_theme.esc(h)} ({_theme.esc(n)})" for n, h in zip(tls["namespace"], tls["host"], strict=True)],
        x=days, orientation="h", showlegend=False,
        marker_color=[_BAD if d < CERT_URGENT_DAYS else _OK for d in days],
        hovertemplate="%{y}<br>%{x:.1f} days left<extra></extra>",
    )  # fmt: skip
    fig.update_layout(height=_height(len(tls)))
    fig.update_xaxes(title_text="days left")
    fig.update_yaxes(autorange="reversed")
    return fig


def notebook_utilization(notebooks: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Mean GPU utilisation of each notebook holding GPUs (``wb.platform.idle_notebooks()``);
    cull candidates drawn red."""
    _frames.require(
        notebooks,
        ("namespace", "name", "utilization_pct", "cull_candidate"),
        "notebook_utilization",
    )
    fig = _theme.new_figure(_theme.esc(title) if title else "notebooks holding GPUs: utilisation")
    if notebooks.empty:
        return _theme.no_data(fig, "no notebook holds a GPU")
    fig.add_bar(
        y=[f"{_theme.esc(n)}/{_theme.esc(b)}" for n, b in zip(notebooks["namespace"], notebooks["name"], strict=True)],
        x=notebooks["utilization_pct"].fillna(0), orientation="h", showlegend=False,
        marker_color=[_BAD if c else _OK for c in notebooks["cull_candidate"]],
        hovertemplate="%{y}<br>%{x:.1f} % busy<extra></extra>",
    )  # fmt: skip
    fig.update_layout(height=_height(len(notebooks)))
    fig.update_xaxes(title_text="GPU utilisation (%)", range=[0, 100])
    fig.update_yaxes(autorange="reversed")
    return fig
