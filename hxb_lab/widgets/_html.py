"""Small HTML fragments for views, with every value escaped: cards, key-value tables, errors."""

from __future__ import annotations

import html
from collections.abc import Iterable

from hxb_lab._redact import redact

__all__ = ["as_text", "cards", "error_line", "esc", "key_values", "one_line", "preformatted"]

STYLE = """<style>
.hxb-cards{display:flex;gap:10px;flex-wrap:wrap;margin:4px 0}
.hxb-card{border:1px solid var(--jp-border-color2,#e4e7eb);border-radius:6px;padding:6px 12px;min-width:130px}
.hxb-card .t{color:var(--jp-ui-font-color2,#7b8794);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
.hxb-card .v{font-size:20px;font-weight:600;color:var(--jp-ui-font-color0,#1f2933)}
.hxb-card .d{color:var(--jp-ui-font-color1,#52606d);font-size:11px}
.hxb-kv{border-collapse:collapse;font-size:12px}
.hxb-kv td{border-bottom:1px solid var(--jp-border-color3,#f0f4f8);padding:2px 8px;vertical-align:top}
.hxb-kv td:first-child{color:var(--jp-ui-font-color1,#52606d);white-space:nowrap}
.hxb-kv td+td{overflow-wrap:anywhere;max-width:560px}
.hxb-error{color:#ab091e;background:#ffeeee;border-left:3px solid #d64545;padding:3px 8px;
 white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.hxb-muted{color:var(--jp-ui-font-color2,#7b8794)}
</style>""".replace("\n", "")


def esc(value: object) -> str:
    """Text for HTML: every string from a cluster or telemetry passes through here."""
    return html.escape("" if value is None else str(value), quote=True)


def as_text(value: object) -> str:
    """A cell as a person reads it: a list as ``a, b``, a mapping as ``k=v, …``, never a
    Python repr (``['a', 'b']``); an empty cell empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{as_text(k)}={as_text(v)}" for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return ", ".join(sorted(as_text(v) for v in value))
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(v) for v in value)
    if getattr(value, "ndim", 0) == 1:  # a NumPy array cell, as Arrow-backed frames give lists
        return ", ".join(as_text(v) for v in value.tolist())  # type: ignore[attr-defined]
    return "" if _missing(value) else str(value)


def _missing(value: object) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array cell
        return False


def links(named: dict[str, str]) -> str:
    """Links out (``{label: url}``) as escaped anchors opening in a new tab; only http(s)."""
    shown = [
        f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'
        for label, url in named.items()
        if url.startswith(("https://", "http://"))
    ]
    return '<span class="hxb-links">open in: ' + " · ".join(shown) + "</span>" if shown else ""


def one_line(message: str) -> str:
    """A message as one line: a multi-problem error joins its problems with "; "."""
    text = ""
    for line in message.splitlines():
        part = " ".join(line.split()).lstrip("- ")
        if part:
            text += ("" if not text else " " if text.endswith(":") else "; ") + part
    return text


def error_line(message: str) -> str:
    """The inline error of a view: one readable, escaped line with secrets redacted."""
    if not message:
        return ""
    text = esc(redact(message))
    return f'{STYLE}<div class="hxb-error" title="{text}">⚠ {text}</div>'


def cards(items: Iterable[tuple[str, object, str]]) -> str:
    """Summary cards: (title, value, detail) each."""
    body = "".join(
        f'<div class="hxb-card"><div class="t">{esc(t)}</div><div class="v">{esc(v)}</div>'
        f'<div class="d">{esc(d)}</div></div>'
        for t, v, d in items
    )
    return f'{STYLE}<div class="hxb-cards">{body}</div>'


def key_values(pairs: Iterable[tuple[object, object]], empty: str = "nothing to show") -> str:
    """A two-column table of keys and values (span attributes, status conditions, ...)."""
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(as_text(v))}</td></tr>" for k, v in pairs)
    if not rows:
        return f'<span class="hxb-muted">{esc(empty)}</span>'
    return f'{STYLE}<table class="hxb-kv">{rows}</table>'


def preformatted(text: str) -> str:
    """Preformatted text (a diff, a log excerpt), escaped."""
    return f'<pre style="font-size:12px;max-height:320px;overflow:auto">{esc(text)}</pre>'
