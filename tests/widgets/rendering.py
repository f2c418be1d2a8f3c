"""What of a view reaches a browser as HTML, and the assertion that a hostile string only
ever gets there escaped.

A view is serialised as Jupyter would embed it (`ipywidgets.embed.embed_data`: every
widget model's state). Each model's properties are sorted into those a browser renders
as markup (an HTML widget's value, table cells and captions, every string of a plotly
figure, a description with ``description_allow_html``) and those it renders as text
(dropdown and toggle labels, text inputs, tooltips). A model this module does not know is
taken as markup throughout, so a new kind of widget cannot slip past unchecked.
`view_markup()` adds what plotly's `FigureWidget`s draw, which they send as messages.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

EVIL = "<img src=x onerror=alert(1)>"
ESCAPED = html.escape(EVIL, quote=False)  # "&lt;img src=x onerror=alert(1)&gt;"
#: How a raw `EVIL` looks inside plotly's HTML export (its JSON escapes "<", ">" and "/").
EVIL_IN_PLOTLY_HTML = "\\u003cimg src=x onerror=alert(1)\\u003e"

#: Models whose strings a browser shows as text (ipywidgets sets `textContent`, an input's
#: value or a `title` attribute), apart from a `description` with `description_allow_html`.
TEXT_MODELS = frozenset(
    {
        "ButtonModel",
        "CheckboxModel",
        "DropdownModel",
        "IntSliderModel",
        "IntTextModel",
        "SelectModel",
        "TextModel",
        "TextareaModel",
        "ToggleButtonsModel",
    }
)
#: Models without strings of their own worth a look (layout, style and containers).
INERT_MODELS = frozenset({"LayoutModel", "VBoxModel", "HBoxModel", "BoxModel"})


def strings(value: Any) -> Iterator[str]:
    """Every string inside nested dicts (keys too), lists and tuples."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
    elif hasattr(value, "tolist"):
        yield from strings(value.tolist())


def widget_state(widget: Any) -> list[dict[str, Any]]:
    """Every model under `widget` as Jupyter embeds it: ``{"model_name", "state"}`` each."""
    from ipywidgets.embed import embed_data

    data = embed_data(views=[widget])
    return list(data["manager_state"]["state"].values())


def _table_markup(state: dict[str, Any]) -> Iterator[str]:
    """An itables `ITable`: DataTables renders cells, caption and header as HTML."""
    args = dict(state.get("_dt_args") or {})
    yield from strings(json.loads(args.pop("data_json", "[]") or "[]"))
    yield from strings(args)
    yield from strings(state.get("caption", ""))


def split_state(models: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(strings rendered as markup, strings rendered as text) of embedded widget models."""
    markup: list[str] = []
    text: list[str] = []
    for model in models:
        name, state = model["model_name"], model["state"]
        if name.endswith("StyleModel") or name in INERT_MODELS:
            continue
        if state.get("description_allow_html"):
            markup.extend(strings(state.get("description", "")))
        if name in ("HTMLModel", "HTMLMathModel", "LabelModel"):
            target = text if name == "LabelModel" else markup
            target.extend(strings(state.get("value", "")))
            markup.extend(strings(state.get("placeholder", "")))
        elif name in TEXT_MODELS:
            text.extend(strings(state))
        elif "_dt_args" in state:
            markup.extend(_table_markup(state))
        else:  # plotly's FigureWidget and anything unknown: all of it may become markup
            markup.extend(strings(state))
    return markup, text


class _Reader(HTMLParser):
    """What a browser makes of a fragment: the elements it creates and the text it shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def read_as_browser(fragment: str) -> tuple[list[tuple[str, list[tuple[str, str | None]]]], str]:
    """(elements, text) of an HTML fragment, entities decoded as a browser (or plotly's
    label renderer) decodes them."""
    reader = _Reader()
    reader.feed(fragment)
    reader.close()
    return reader.elements, "".join(reader.text)


def figure_widgets(widget: Any) -> Iterator[Any]:
    """The plotly `FigureWidget`s under `widget`."""
    import plotly.graph_objects as go

    if isinstance(widget, go.FigureWidget):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from figure_widgets(child)


def view_markup(widget: Any) -> tuple[list[str], list[str]]:
    """(markup, text) of a widget tree as a browser gets it. A `FigureWidget` sends its
    traces and layout as messages after it was created, which the embedded state does not
    hold: its figure (what those messages built in the browser) is added as markup.
    """
    markup, text = split_state(widget_state(widget))
    for figure in figure_widgets(widget):
        markup.extend(strings(figure.to_dict()))
    return markup, text


def assert_only_escaped(markup: list[str], where: str, *, shown: bool = True) -> None:
    """No markup string makes an ``<img>`` (or any ``on...`` handler) of `EVIL`, none shows
    it double-escaped (``&lt;img`` on screen); with `shown`, one shows it as text, so a test
    that dropped the hostile string on its way fails too."""
    raw = [t for t in markup if "<img" in t.lower()]
    assert not raw, f"{where}: unescaped markup reaches HTML: {raw[0][:300]!r}"
    seen = False
    for fragment in markup:
        if "img" not in fragment:
            continue
        elements, text = read_as_browser(fragment)
        handlers = [(tag, a) for tag, attrs in elements for a, _ in attrs if a.startswith("on")]
        assert not handlers, f"{where}: an event handler reaches HTML: {handlers} in {fragment!r}"
        assert "&lt;img" not in text, f"{where}: shown double-escaped: {fragment[:300]!r}"
        seen = seen or EVIL in text
    if shown:
        assert seen, f"{where}: the hostile string never shows as text"


def assert_figure_escaped(fig: Any, where: str, *, shown: bool = True) -> None:
    """A plotly figure: every string of its JSON, and its static HTML export."""
    assert_only_escaped(list(strings(json.loads(fig.to_json()))), where, shown=shown)
    page = fig.to_html(include_plotlyjs=False, full_html=False)
    assert "<img" not in page.lower() and EVIL_IN_PLOTLY_HTML not in page, (
        f"{where}: raw markup in the HTML export"
    )
    if shown:
        assert ESCAPED in page, f"{where}: the hostile string is missing from the HTML export"


def assert_text_fields_plain(text: list[str], where: str) -> None:
    """Fields a browser shows as text carry the string as it is: an escaped one there
    would show as ``&lt;img ...`` on screen."""
    doubled = [t for t in text if ESCAPED in t]
    assert not doubled, f"{where}: a text field shows the escaped form: {doubled[0][:300]!r}"
