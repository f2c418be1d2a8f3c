"""Charts in the Lab's own look: a probe that tells the kernel whether JupyterLab's theme
is light or dark, and the live layout of a figure for either.

JupyterLab marks its theme on ``<body data-jp-theme-light="true|false">``; the probe is an
invisible widget in each view's header that reads that mark when drawn and whenever the
user switches the theme. Static figures (reports, ``.figure()``) keep the light look.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["LabTheme", "for_lab"]

_PROBE = """
export default {
  render({ model, el }) {
    el.style.display = "none";
    const read = () => {
      const dark = document.body.dataset.jpThemeLight === "false";
      if (model.get("dark") !== dark) {
        model.set("dark", dark);
        model.save_changes();
      }
    };
    read();
    const watch = new MutationObserver(read);
    watch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
    return () => watch.disconnect();
  },
};
"""


@cache
def _probe_class() -> type[Any]:
    # Built on first use: `import hxb_lab.runbooks` (which reaches this package through the
    # run form) must not load anywidget, ipywidgets and plotly (seconds in a pod).
    import anywidget
    import traitlets

    class Probe(anywidget.AnyWidget):
        """`dark` is True while JupyterLab shows a dark theme (set by the browser)."""

        _esm = _PROBE
        dark = traitlets.Bool(False).tag(sync=True)

    return Probe


def LabTheme() -> Any:  # a widget, named as its class would be
    """The probe widget: its `dark` trait is True while JupyterLab shows a dark theme."""
    return _probe_class()()


def for_lab(layout: Any, *, dark: bool) -> go.Layout:
    """`layout` in the project's light look, or its dark variant for a dark Lab."""
    import plotly.graph_objects as go

    from hxb_lab.viz import _theme

    live = go.Layout(layout)
    if dark:
        live.template = _theme.template(dark=True)
    return live
