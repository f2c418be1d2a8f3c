"""What views show in words and colours: lists as text, counts in proper English, charts in
the Lab's light or dark look (reports stay light)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hxb_lab import viz
from hxb_lab.viz._theme import DARK_INK, INK
from hxb_lab.widgets._html import key_values
from hxb_lab.widgets._plot import PLOTLY_MIMETYPE, FigurePane
from hxb_lab.widgets._table import for_display
from hxb_lab.words import plural


def test_list_cells_show_as_text_never_as_python_reprs() -> None:
    frame = pd.DataFrame(
        {
            "services": [["api-gateway", "router"], np.array(["auth"]), None],
            "labels": [{"team": "search"}, {}, float("nan")],
        }
    )
    shown = for_display(frame)
    assert list(shown["services"]) == ["api-gateway, router", "auth", ""]
    assert list(shown["labels"]) == ["team=search", "", ""]
    assert "['" not in key_values([("previous", ["v7", "v8"])])


def test_counts_are_pluralised() -> None:
    assert [plural(1, "pod"), plural(2, "pod"), plural(0, "GPU"), plural(1, "GPU")] == [
        "1 pod",
        "2 pods",
        "0 GPUs",
        "1 GPU",
    ]
    assert plural(1234, "call") == "1,234 calls"
    assert viz.trace_waterfall(_one_span()).layout.title.text.startswith("trace: 1 span,")


def _one_span() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "span_id": ["a"],
            "parent_span_id": [""],
            "service": ["api-gateway"],
            "operation": ["GET /"],
            "offset_ms": [0.0],
            "duration_ms": [5.0],
        }
    )


def test_a_pane_draws_in_the_labs_theme_and_keeps_the_report_figure_light() -> None:
    pane = FigurePane()
    fig = viz.trace_waterfall(_one_span())
    pane.show(fig)
    sent = pane.widget.outputs[0]["data"][PLOTLY_MIMETYPE]
    assert sent["layout"]["template"]["layout"]["font"]["color"] == INK
    pane.set_dark(True)
    sent = pane.widget.outputs[0]["data"][PLOTLY_MIMETYPE]
    assert sent["layout"]["template"]["layout"]["font"]["color"] == DARK_INK
    assert sent["layout"]["template"]["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert pane.figure is fig and fig.layout.template.layout.font.color == INK  # reports
    assert isinstance(pane.live, go.Figure) and len(pane.live.data) == len(fig.data)
