"""How the command line prints tables and values (rich, imported only when printing).

A table never breaks a word: each column is at least as wide as its longest word, the
room left goes to the columns with the most text, and when even the longest words do not
fit side by side in the terminal, each row prints as a block of ``column  value`` lines.
Rich alone squeezes columns below their longest word (``paramet/ers``), which is why the
widths are worked out here.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["column_widths", "echo_json_lines", "print_table", "records", "text"]

# A bordered table spends 3 characters per column ("│ " before, " " after) and 1 at the end.
_BORDER_PER_COLUMN = 3


def _longest_word(cells: list[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=1)


def _longest_line(cells: list[str]) -> int:
    return max((len(line) for cell in cells for line in cell.splitlines()), default=1)


def column_widths(columns: list[str], rows: list[list[str]], width: int) -> list[int] | None:
    """The text width of each column so that the table fits in `width` characters without
    breaking a word, or None when even the longest words do not fit side by side."""
    cells = [[column, *(row[i] for row in rows)] for i, column in enumerate(columns)]
    least = [_longest_word(c) for c in cells]
    most = [max(_longest_line(c), low) for c, low in zip(cells, least, strict=True)]
    room = width - _BORDER_PER_COLUMN * len(columns) - 1
    if sum(least) > room:
        return None
    if sum(most) <= room:
        return most
    # Share what is left beyond the longest words in proportion to each column's extra text.
    spare = room - sum(least)
    extra = [high - low for high, low in zip(most, least, strict=True)]
    total = sum(extra)
    widths = [low + spare * more // total for low, more in zip(least, extra, strict=True)]
    return widths


def print_table(
    title: str, columns: list[str], rows: list[list[str]], *, keep_first: bool = False
) -> None:
    """Print a table. Cells are text, never rich markup (``list[str]``, ``[1, 2]``). With
    `keep_first` the first column (names, ids) is never wrapped."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    widths = column_widths(columns, rows, console.width)
    if widths is None:
        _print_records(console, title, columns, rows)
        return
    table = Table(title=title, title_justify="left")
    for index, (column, width) in enumerate(zip(columns, widths, strict=True)):
        table.add_column(column, width=width, no_wrap=keep_first and index == 0)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def _print_records(console: Any, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """Each row as ``column  value`` lines under its first cell: for terminals too narrow to
    put the longest words of every column side by side. Values wrap between words only."""
    import textwrap

    label = max(len(c) for c in columns[1:]) if len(columns) > 1 else 0
    indent = " " * (label + 4)
    lines = [title]
    for row in rows:
        lines += ["", row[0]]
        for column, cell in zip(columns[1:], row[1:], strict=True):
            if not cell:
                continue
            wrapped = textwrap.wrap(
                cell, width=max(console.width, len(indent) + 20),
                initial_indent=f"  {column.ljust(label)}  ", subsequent_indent=indent,
                break_long_words=False, break_on_hyphens=False,
            )  # fmt: skip
            lines += wrapped
    for line in lines:
        console.out(line, highlight=False)


def echo_json_lines(records: list[dict[str, Any]]) -> None:
    """Print one JSON object per line (what every listing's ``--json`` prints)."""
    import typer

    for record in records:
        typer.echo(json.dumps(record, default=str))


def records(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows as JSON-able dicts: times in ISO 8601, missing values null."""
    loaded: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return loaded


def text(value: Any) -> str:
    """A value as a table cell: empty for None and NaN/NaT, lists and dicts joined."""
    if value is None or value != value:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
