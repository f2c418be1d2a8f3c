"""The project's one look: a plotly template every figure uses, colours, and label escaping.

The template travels inside each figure (``layout.template``), so a figure exported with
``fig.to_html()`` looks the same in a report that never imported HXB Lab, and nothing in it
needs the network (no web fonts, no MathJax, no map tiles).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "DARK_TEMPLATE",
    "ERROR",
    "GOOD",
    "MUTED",
    "PALETTE",
    "TEMPLATE",
    "colors_for",
    "esc",
    "new_figure",
    "no_data",
    "template",
]

TEMPLATE = "hxb"
#: The same look for JupyterLab's dark themes (live views only; reports stay light).
DARK_TEMPLATE = "hxb_dark"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
DARK_INK = "#d9e2ec"
DARK_GRID = "#3e4c59"
ERROR = "#d64545"
GOOD = "#3ebd93"
#: Colour-blind friendly (Okabe-Ito based), ordered so neighbours differ strongly.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#332288",
    "#88ccee",
    "#117733",
    "#999933",
    "#aa4499",
)
#: Utilisation and error-rate scales: calm to alarming.
SEQUENTIAL = [[0.0, "#f0f4f8"], [0.35, "#9fb3c8"], [0.7, "#f0b429"], [1.0, "#d64545"]]
HEALTH = [[0.0, GOOD], [0.5, "#f0b429"], [1.0, ERROR]]


def esc(value: object) -> str:
    """Text for a plotly label or hover: plotly renders a subset of HTML, so escape it.

    Every string that comes from a cluster or from telemetry goes through here before it
    reaches a figure (names, labels, attributes), so ``<img onerror=...>`` shows as text.
    """
    return html.escape("" if value is None else str(value), quote=False)


def template(*, dark: bool = False) -> go.layout.Template:
    """The HXB Lab template, registered as ``plotly.io.templates["hxb"]`` on first use;
    ``dark=True``: its variant for a dark JupyterLab (``"hxb_dark"``), light ink and grid
    on a transparent background, so the Lab's own background shows through."""
    name = DARK_TEMPLATE if dark else TEMPLATE
    if name not in pio.templates:
        ink, grid = (DARK_INK, DARK_GRID) if dark else (INK, GRID)
        background = "rgba(0,0,0,0)" if dark else "white"
        axis = {
            "gridcolor": grid,
            "linecolor": grid,
            "zerolinecolor": grid,
            "ticks": "",
            "title": {"standoff": 8},
            "automargin": True,
        }
        pio.templates[name] = go.layout.Template(
            layout={
                "font": {"family": FONT, "size": 12, "color": ink},
                "title": {"font": {"size": 15}, "x": 0.0, "xanchor": "left", "xref": "paper"},
                "colorway": list(PALETTE),
                "paper_bgcolor": background,
                "plot_bgcolor": background,
                "margin": {"l": 60, "r": 20, "t": 56, "b": 44},
                "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
                "hovermode": "closest",
                "legend": {
                    "orientation": "v",
                    "bgcolor": "rgba(0,0,0,0)" if dark else "rgba(255,255,255,0.8)",
                },
                "xaxis": axis,
                "yaxis": axis,
                "colorscale": {"sequential": SEQUENTIAL},
            }
        )
    return pio.templates[name]


def new_figure(title: str | None = None, **layout: Any) -> go.Figure:
    """An empty figure in the project's look; `title` must already be escaped."""
    fig = go.Figure(layout={"template": template(), "height": 400, **layout})
    if title:
        fig.update_layout(title={"text": title})
    return fig


def no_data(fig: go.Figure, message: str = "no data in this range") -> go.Figure:
    """Mark a figure that has nothing to show, so an empty frame is not a blank square."""
    fig.add_annotation(
        text=esc(message),
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 14, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def colors_for(names: Iterable[str]) -> dict[str, str]:
    """A stable colour per name (sorted order), the same in every figure of one call."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}
