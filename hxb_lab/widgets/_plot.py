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
            self.widget.add_traces([_with_dates_as_text(trace) for trace in fig.data])
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


#: The trace attributes that may hold times.
_TIME_ATTRIBUTES = ("x", "y", "base")


def _with_dates_as_text(trace: Any) -> Any:
    """`trace` with its datetime arrays as ISO text. The widget sends a ``datetime64[ns]``
    array as its integer nanoseconds (``tolist()`` cannot make datetimes of them), and the
    browser then draws 1.79e18 on a time axis; a static figure's JSON encoder writes dates,
    so only the live widget needs this."""
    import numpy as np

    changed: dict[str, Any] = {}
    for name in _TIME_ATTRIBUTES:
        values = getattr(trace, name, None)
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            changed[name] = np.datetime_as_string(values, unit="ms")
    return type(trace)(trace, **changed) if changed else trace  # the static figure keeps its own
