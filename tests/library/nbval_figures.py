"""A pytest plugin for the library's nbval run: compare plotly figures by what they show.

nbval compares a figure output (``application/vnd.plotly.v1+json``) as the whole JSON
document, where the last digit of a float summed in another order, or a colour of the
project template, would fail a notebook whose figure shows the same thing. This plugin
makes nbval compare a summary instead: the title, and per trace its type, name and number
of points, and the figure's ``layout.meta`` rounded to four significant digits.

Loaded with ``-p tests.library.nbval_figures`` by `tests/library/test_notebooks.py`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from nbval.plugin import IPyNbCell

_sanitize = IPyNbCell.sanitize


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _points(trace: dict[str, Any]) -> int:
    for key in ("x", "y", "values", "labels", "z"):
        data = trace.get(key)
        if isinstance(data, list):
            return len(data)
        if isinstance(data, dict) and "bdata" in data:  # plotly's typed-array encoding
            if "shape" in data:
                return int(str(data["shape"]).split(",")[0])
            itemsize = int(np.dtype(data.get("dtype", "f8")).itemsize)
            return len(base64.b64decode(data["bdata"])) // itemsize
    return 0


def figure_summary(figure: dict[str, Any]) -> str:
    """What a reader sees in a figure, as a stable text."""
    layout = figure.get("layout") or {}
    title = layout.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    traces = [
        {"type": t.get("type", "scatter"), "name": t.get("name"), "points": _points(t)}
        for t in figure.get("data") or []
    ]
    summary = {"title": text, "traces": traces, "meta": _rounded(layout.get("meta"))}
    return "plotly figure " + json.dumps(summary, sort_keys=True, indent=1)


def _summarising_sanitize(self: IPyNbCell, s: Any) -> Any:
    if isinstance(s, dict) and "data" in s and "layout" in s:
        s = figure_summary(s)
    return _sanitize(self, s)


IPyNbCell.sanitize = _summarising_sanitize  # type: ignore[method-assign]
