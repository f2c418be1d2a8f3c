"""A selectable table of a frame: itables' `ITable` widget (DataTables: sort, search, paging).

Why itables: maintained (release 2026-07, widely used), an ipywidgets-compatible widget
with a synced ``selected_rows`` trait, and it escapes HTML in cells on the Python side
(``allow_html=False``, passed on every update: see `ROW_OPTIONS`), so no cluster string
reaches the page unescaped. ipydatagrid's last release is from 2024-12.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.widgets._html import as_text, esc

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROW_OPTIONS", "Table", "for_display"]

#: Most bytes of rows sent to the browser; beyond it itables shows a part and says so.
MAX_BYTES = 2**21
#: Options itables applies in Python when it formats the rows, so `ITable.update()` needs
#: them again each time: without them it falls back to `itables.options`, and a notebook
#: that set ``itables.options.allow_html = True`` for its own tables would get cluster
#: strings rendered as HTML in ours.
ROW_OPTIONS: dict[str, Any] = {"allow_html": False, "showIndex": False, "maxBytes": MAX_BYTES}


def for_display(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A frame as a person reads it: times to the second, spans as text, floats rounded."""
    import pandas as pd

    shown = frame[[c for c in columns if c in frame.columns]] if columns else frame
    out = {}
    for name in shown.columns:
        col = shown[name]
        if isinstance(col.dtype, pd.DatetimeTZDtype) or col.dtype.kind == "M":
            out[name] = col.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif col.dtype.kind == "m":
            out[name] = col.astype(str).str.replace(r"\.\d+$", "", regex=True)
        elif col.dtype.kind == "f":
            out[name] = col.round(3)
        elif pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            out[name] = col
        else:  # text, lists, mixed: empty cells empty, never "nan"
            out[name] = pd.Series([as_text(v) for v in col], index=col.index, dtype=object)
    return pd.DataFrame(out, index=range(len(shown)))


class Table:
    """A frame in an `ITable`, with single-row selection: `select(i)`, `selected`, `on_select`."""

    def __init__(
        self,
        caption: str = "",
        columns: Sequence[str] | None = None,
        page_length: int = 10,
    ) -> None:
        import pandas as pd
        from itables.widget import ITable

        self.columns = list(columns) if columns else None
        self._frame = pd.DataFrame()
        self._callbacks: list[Callable[[pd.Series | None], object]] = []
        self.widget = ITable(
            pd.DataFrame(),
            caption=esc(caption),
            select={"style": "single"},
            pageLength=page_length,
            classes="display compact nowrap",
            **ROW_OPTIONS,
        )
        self.widget.observe(self._selection_changed, "selected_rows")

    @property
    def frame(self) -> pd.DataFrame:
        """The rows shown (all columns of the source frame, not only those displayed)."""
        return self._frame

    def show(self, frame: pd.DataFrame, caption: str | None = None) -> None:
        """Show `frame`; the selection is cleared (and listeners told) when rows change."""
        had = bool(self.widget.selected_rows)
        self._frame = frame.reset_index(drop=True)
        kwargs: dict[str, Any] = {"selected_rows": [], **ROW_OPTIONS}
        if caption is not None:
            kwargs["caption"] = esc(caption)
        self.widget.update(for_display(self._frame, self.columns), **kwargs)
        if had:
            self._notify()

    def select(self, position: int | None) -> None:
        """Select the row at `position` (None: clear), as a click in the table would."""
        if position is not None and not 0 <= position < len(self._frame):
            raise IndexError(f"row {position} is not in a table of {len(self._frame)} rows")
        self.widget.selected_rows = [] if position is None else [position]

    def select_where(self, column: str, value: object) -> bool:
        """Select the first row whose `column` equals `value`; False when there is none."""
        if column not in self._frame.columns:
            return False
        hits = self._frame.index[self._frame[column] == value]
        if len(hits) == 0:
            return False
        self.select(int(hits[0]))
        return True

    @property
    def selected(self) -> pd.Series | None:
        """The selected row (with every column of the source frame), or None."""
        rows = self.widget.selected_rows
        if not rows or rows[0] >= len(self._frame):
            return None
        row: pd.Series = self._frame.iloc[rows[0]]
        return row

    def on_select(self, callback: Callable[[pd.Series | None], object]) -> None:
        """Call `callback(row or None)` whenever the selection changes."""
        self._callbacks.append(callback)

    def _selection_changed(self, _change: Any) -> None:
        self._notify()

    def _notify(self) -> None:
        row = self.selected
        for callback in self._callbacks:
            callback(row)

    def __len__(self) -> int:
        return len(self._frame)
