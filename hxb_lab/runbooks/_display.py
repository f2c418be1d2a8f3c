"""How a runbook shows its findings: the verdict and tables an SRE can paste into an incident.

The conventions live here once, for every runbook and its report:

- a table has no pandas index (a named index is a column like the others, an unnamed one
  is row numbers and is left out);
- column names are snake_case (``modelName`` is shown as ``model_name``);
- a number column whose values are all whole is shown as integers (``4,018``, not
  ``4018.000``); other numbers with a fixed number of decimals (`decimals`, per column);
- times are UTC to the second (``2025-06-02 07:43:30``), never nanoseconds;
- a missing value is ``–``, a flag ``yes``/``no``, a list its items joined by commas;
- text is shown whole (no ``...``) and HTML-escaped: it comes from the cluster and telemetry;
- an empty result is one line saying so (``none``), not a header without rows.

`verdict(level, text)` is the report's conclusion; the report lifts it to the top of the page.
In a run, both are also kept with the run for `hx.runbooks.diff`: the verdict, and each
table given a `key` (the columns that name a row), in the run's ``frozen/`` directory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from hxb_lab import frozen

if TYPE_CHECKING:
    import pandas as pd
    from IPython.display import HTML

__all__ = [
    "LEVELS",
    "VERDICT_CLASS",
    "cell_text",
    "keep_table",
    "snake_case",
    "table",
    "table_html",
    "verdict",
]

VERDICT_CLASS = "hxb-verdict"
#: Verdict level -> the colour of its bar.
LEVELS = {"ok": "#1a7f37", "warning": "#9a6700", "action": "#cf222e"}
MISSING = "–"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: Any) -> str:
    """A column name in snake_case: ``modelName`` -> ``model_name``, ``p95 ms`` -> ``p95_ms``."""
    text = _CAMEL.sub("_", str(name)).strip()
    return re.sub(r"[\s\-]+", "_", text).lower()


def _whole(values: Any) -> bool:
    """Whether every finite value of a numeric column is a whole number."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return all(v.is_integer() for v in finite)


def cell_text(value: Any, digits: int | None = None) -> str:
    """One value as a reader wants it (see the module); `digits` for a non-whole number."""
    import pandas as pd

    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp | datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp
        return f"{stamp:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, pd.Timedelta):
        return str(value.floor("s"))
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict | str):
        value = value.item()  # a numpy number
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if digits is None and value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.{1 if digits is None else digits}f}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value) or MISSING
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell_text(v)}" for k, v in value.items()) or MISSING
    return str(value)


def _column_digits(column: pd.Series, decimals: int) -> int | None:
    """None when the column shows whole numbers, else the decimals it shows."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return None
    values = column.dropna().tolist()
    return None if _whole(values) else decimals


def table_html(
    frame: pd.DataFrame,
    *,
    decimals: int | Mapping[str, int] = 1,
    empty: str = "none",
) -> str:
    """The HTML of `frame` shown by the conventions of the module; `empty` when it has no row."""

    if len(frame) == 0:
        return f'<p class="hxb-empty"><em>{escape(empty)}</em></p>'
    # A named index says something (a version, a node): a column. An unnamed one is row
    # numbers, left over from a filter or a sort: dropped.
    named = any(n is not None for n in frame.index.names)
    shown = frame.reset_index(drop=not named)
    names = [snake_case(c) for c in shown.columns]
    digits = []
    for position, name in enumerate(names):
        wanted = decimals.get(name, 1) if isinstance(decimals, Mapping) else decimals
        digits.append(_column_digits(shown.iloc[:, position], wanted))
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = []
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for value, places in zip(row, digits, strict=True):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            align = ' class="hxb-number"' if number else ""
            cells.append(f"<td{align}>{escape(cell_text(value, places))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<table class="dataframe hxb-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def table(
    frame: pd.DataFrame,
    *,
    decimals: int | Mapping[str, int] = 1,
    empty: str = "none",
    key: str | list[str] | None = None,
    name: str | None = None,
) -> HTML:
    """`frame` as a table for a notebook and its report (see the module): whole numbers as
    integers, other numbers with `decimals` places (one number, or per column name), times
    to the second, no index; `empty` (one line) when it has no row.

    With `key` (the column, or columns, naming a row: ``"node"``) it is a key table: a run
    keeps it, as `name` (default ``table_1``, ``table_2``... in the order shown), and
    `hx.runbooks.diff` lists its new and vanished rows and the values that moved."""
    from IPython.display import HTML

    if key is not None:
        keep_table(frame, key, name)

    shown: HTML = HTML(table_html(frame, decimals=decimals, empty=empty))  # type: ignore[no-untyped-call]
    return shown


def keep_table(frame: pd.DataFrame, key: str | list[str], name: str | None = None) -> None:
    """Keep `frame` with the run as a key table without showing it: `key` (a column, or
    columns) names its rows, and `hx.runbooks.diff` lists its new and vanished rows and the
    values that moved. `name` defaults to ``table_1``, ``table_2``... in the order kept.
    Outside a run nothing is kept."""
    frozen.keep_table(frame, [key] if isinstance(key, str) else list(key), name)


def verdict(level: str, text: str) -> HTML:
    """The report's conclusion: level ``ok``, ``warning`` or ``action``, and one sentence.
    The report puts it first on the page."""
    from IPython.display import HTML

    if level not in LEVELS:
        raise ValueError(f"level: {level!r} is not one of {', '.join(LEVELS)}")
    frozen.keep_verdict(level, text)
    shown: HTML = HTML(  # type: ignore[no-untyped-call]
        f'<div class="{VERDICT_CLASS} {VERDICT_CLASS}-{level}" style="border-left: 6px solid '
        f"{LEVELS[level]}; background: #f6f8fa; padding: 10px 14px; margin: 8px 0; "
        f'font-size: 1.15em"><b>VERDICT:</b> {escape(text)}</div>'
    )
    return shown
