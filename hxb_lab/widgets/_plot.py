"""A plotly `FigureWidget` that shows one figure of `hxb_lab.viz` after another."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FigurePane"]


class FigurePane:
    """Holds the last figure shown (`figure`, static, for reports) and its live widget."""

    def __init__(self) -> None:
        import plotly.graph_objects as go

        self.widget = go.FigureWidget()
        self.figure: go.Figure | None = None
        self._click: Callable[[Any, int], None] | None = None

    def show(self, fig: go.Figure) -> None:
        """Replace what the widget shows with `fig` (in one message to the browser)."""
        self.figure = fig
        with self.widget.batch_update():
            self.widget.data = []
            self.widget.add_traces(list(fig.data))
            self.widget.layout = fig.layout
        if self._click is not None:
            for trace in self.widget.data:
                trace.on_click(self._clicked)

    def on_click(self, callback: Callable[[Any, int], None]) -> None:
        """Call `callback(trace, point_index)` when a point or bar is clicked in the browser."""
        self._click = callback

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if self._click is not None and points.point_inds:
            self._click(trace, points.point_inds[0])
