"""What every view shares: the time range, refresh (on demand, on an interval, or on cluster
changes), a loading state, one-line inline errors, and `.figure()` for reports.

A view never shows a traceback: an `HxbLabError` shows its message, anything else
"internal error: <Name>: <message>", each on one line above the view's body.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import HxbLabError
from hxb_lab.widgets import _html
from hxb_lab.widgets._lab_theme import LabTheme
from hxb_lab.widgets._plot import PLOTLY_MIMETYPE, FigurePane
from hxb_lab.widgets._time import TimeRange

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hxb_lab.widgets.reads import Reads

__all__ = ["INTERVALS", "View", "message_of"]

#: Auto-refresh choices: label -> seconds (0: off, -1: on cluster changes, via a watch).
INTERVALS: dict[str, float] = {"off": 0, "10 s": 10, "30 s": 30, "1 min": 60, "5 min": 300}
ON_CHANGE = -1.0


def message_of(exc: BaseException) -> str:
    """The one line a view shows for an error."""
    if isinstance(exc, HxbLabError):
        return _html.one_line(str(exc))
    return _html.one_line(f"internal error: {type(exc).__name__}: {exc}")


class _Repeater:
    """Calls `fn()` every `seconds` on a daemon thread until stopped."""

    def __init__(self, seconds: float, fn: Callable[[], object]) -> None:
        self.seconds = seconds
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hxb-view-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            self._fn()

    def stop(self) -> None:
        self._stop.set()


class _Follower:
    """Refreshes on every change a watch reports (at most once per `debounce` seconds)."""

    def __init__(self, events: Iterator[Any], fn: Callable[[], object], debounce: float) -> None:
        self._events = events
        self._fn = fn
        self._debounce = debounce
        self._stop = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hxb-view-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = 0.0
        try:
            for event in self._events:
                if self._stop.is_set():
                    break
                if getattr(event, "type", "") == "BOOKMARK":
                    continue
                if time.monotonic() - last >= self._debounce:
                    last = time.monotonic()
                    self._fn()
        except Exception:  # noqa: S110 - the view reports a lost watch through `ended`
            pass
        finally:
            self.ended.set()

    def stop(self) -> None:
        self._stop.set()
        close = getattr(self._events, "close", None)
        if callable(close):
            with contextlib.suppress(ValueError):  # a generator running in the watch thread
                close()


class View:
    """Base of `wb.view.*`. Subclasses build their controls in `_build()` (into `self.body`),
    read and render in `_load()`, and return a static figure from `figure()`.
    """

    title = "view"
    #: The cluster kind whose changes trigger a refresh in "on change" mode (None: no watch).
    watch_kind: str | None = None

    def __init__(
        self,
        reads: Reads,
        *,
        last: str = "1h",
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        refresh_every: float | None = None,
    ) -> None:
        import ipywidgets as w

        self._reads = reads
        self._lock = threading.RLock()
        self._repeater: _Repeater | _Follower | None = None
        self.loading = False
        self.error_message = ""
        self.refreshes = 0
        self.refreshed = threading.Event()  # set after each refresh, for callers that wait
        self.last_refresh_seconds = 0.0
        self.time = TimeRange(reads.now, last=last, start=start, end=end)
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", tooltip="read again", layout={"width": "96px"}
        )
        options = list(INTERVALS.items())
        if self.watch_kind:
            options.append(("on change", ON_CHANGE))
        self.auto = w.Dropdown(
            options=options, value=0, description="auto", layout={"width": "150px"}
        )
        self.auto.style.description_width = "36px"
        self.status = w.HTML()
        self.error = w.HTML()
        self.body = w.VBox()
        heading = w.HTML(f"<b>{_html.esc(self.title)}</b>")
        self.lab_theme = LabTheme()
        header = w.HBox(
            [heading, self.time.widget, self.refresh_button, self.auto, self.status,
             self.lab_theme],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )  # fmt: skip
        self.widget = w.VBox([header, self.error, self.body])
        self.time.on_change(self.refresh)
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.auto.observe(lambda _c: self._auto_changed(), "value")
        self.lab_theme.observe(lambda _c: self.run(self._follow_theme, what="restyling"), "dark")
        self._build()
        self.refresh()
        if refresh_every:
            self.every(refresh_every)

    # ------------------------------------------------------------------ for subclasses
    def _build(self) -> None:
        """Create the view's controls and put them in `self.body`."""

    def _load(self) -> None:
        """Read the frames for the current range and show them."""
        raise NotImplementedError

    def figure(self) -> go.Figure:
        """The view's main figure as a static plotly figure, for reports."""
        raise NotImplementedError

    @property
    def viz(self) -> ModuleType:
        """`hxb_lab.viz`, imported when a view first draws (it loads plotly)."""
        from hxb_lab import viz

        return viz

    def range(self) -> tuple[datetime, datetime]:
        """The current (start, end), UTC."""
        return self.time.range()

    # ------------------------------------------------------------------ refresh
    def run(self, action: Callable[[], None], *, what: str = "loading") -> bool:
        """Run `action` with the loading state shown and errors caught into the error line;
        True when it succeeded. Every callback of a view goes through here.
        """
        with self._lock:
            self.loading = True
            self.refresh_button.disabled = True
            self.status.value = f'<span class="hxb-muted">⏳ {_html.esc(what)}…</span>'
            started = time.perf_counter()
            ok = False
            try:
                action()
                ok = True
            except Exception as exc:
                self._show_error(message_of(exc))
            else:
                self._show_error("")
            finally:
                took = time.perf_counter() - started
                self.loading = False
                self.refresh_button.disabled = False
                stamp = datetime.now().strftime("%H:%M:%S")
                state = "updated" if ok else "failed"
                self.status.value = (
                    f'<span class="hxb-muted">{state} {stamp} ({took:.2f} s), '
                    f"{_html.esc(self.time.describe())}</span>"
                )
            return ok

    def refresh(self) -> bool:
        """Read everything again for the current range; False when it failed (see `error`)."""
        started = time.perf_counter()
        ok = self.run(self._load)
        self.last_refresh_seconds = time.perf_counter() - started
        self.refreshes += 1
        self.refreshed.set()
        return ok

    def _show_error(self, message: str) -> None:
        self.error_message = message
        self.error.value = _html.error_line(message)

    def panes(self) -> list[FigurePane]:
        """The view's charts."""
        return [v for v in vars(self).values() if isinstance(v, FigurePane)]

    def _follow_theme(self) -> None:
        for pane in self.panes():
            pane.set_dark(self.lab_theme.dark)

    # ------------------------------------------------------------------ auto refresh
    def every(self, seconds: float | None) -> None:
        """Refresh every `seconds` (None or 0: stop; `ON_CHANGE`: on cluster changes)."""
        self._stop_auto()
        if not seconds:
            return
        if seconds == ON_CHANGE:
            self._follow()
        else:
            self._repeater = _Repeater(seconds, self.refresh)

    def _auto_changed(self) -> None:
        self.every(float(self.auto.value))

    def _follow(self) -> None:
        if self.watch_kind is None:
            return
        kind = self.watch_kind

        def start() -> None:
            events = self._reads.cluster.watch(kind, initial=False)
            self._repeater = _Follower(events, self.refresh, debounce=1.0)

        self.run(start, what=f"watching {kind}")

    def _stop_auto(self) -> None:
        if self._repeater is not None:
            self._repeater.stop()
            self._repeater = None

    # ------------------------------------------------------------------ display
    def close(self) -> None:
        """Stop refreshing and close the widgets."""
        self._stop_auto()

        def close_tree(widget: Any) -> None:
            for child in getattr(widget, "children", ()):
                close_tree(child)
            widget.close()

        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget; in a runbook run also its static `figure()`, which the run's
        report shows (a report has no kernel to draw widgets with)."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        if os.environ.get("HXB_LAB_RUN_ID"):
            with contextlib.suppress(Exception):  # no figure yet: the widget alone
                import plotly.io as pio

                bundle[PLOTLY_MIMETYPE] = json.loads(pio.to_json(self.figure(), validate=False))
        return bundle

    def __repr__(self) -> str:
        name = self._reads.profile.name
        return f"<{type(self).__name__} of profile {name!r}, {self.time.describe()}>"
