"""A pane that shows one figure of `hxb_lab.viz` after another, live in JupyterLab.

The figure goes to the browser as plotly's JSON output (``application/vnd.plotly.v1+json``,
drawn by JupyterLab's plotly renderer) inside an ipywidgets `Output`, whose state is set
whole on every figure. Why not plotly's `FigureWidget`: it is an anywidget whose model
loads its own copy of plotly.js (5 MB) per chart, and with several views in a notebook the
first charts were drawn empty (the services map, the GPU heatmap: the widget's state never
reached the chart). An `Output` is a core widget drawn by JupyterLab itself, and its JSON
carries dates as dates (the FigureWidget sent them as nanoseconds). What it gives up:
clicks on the chart do not reach the kernel, so views offer a list to pick from instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hxb_lab.widgets import _lab_theme

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["PLOTLY_MIMETYPE", "FigurePane"]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"


class FigurePane:
    """The last figure shown: `figure` (static and light, for reports), `live` (as drawn,
    in the Lab's light or dark look) and `widget` (the `Output` a view lays out)."""

    def __init__(self) -> None:
        import ipywidgets as w

        self.figure: go.Figure | None = None
        self.live: go.Figure | None = None
        self.dark = False
        self.widget = w.Output(layout={"width": "100%"})

    def show(self, fig: go.Figure) -> None:
        """Replace what the pane shows with `fig` (one state update to the browser)."""
        import plotly.graph_objects as go
        import plotly.io as pio

        self.figure = fig
        self.live = go.Figure(data=fig.data, layout=_lab_theme.for_lab(fig.layout, dark=self.dark))
        spec = json.loads(pio.to_json(self.live, validate=False))
        self.widget.outputs = (
            {
                "output_type": "display_data",
                "data": {PLOTLY_MIMETYPE: spec, "text/plain": "a plotly figure"},
                "metadata": {},
            },
        )

    def set_dark(self, dark: bool) -> None:
        """Follow the Lab's theme: draw the shown figure again when it changed."""
        if dark != self.dark:
            self.dark = dark
            if self.figure is not None:
                self.show(self.figure)
