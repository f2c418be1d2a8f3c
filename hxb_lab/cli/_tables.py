"""How the command line prints tables and values (rich, imported only when printing)."""

from __future__ import annotations

from typing import Any

__all__ = ["print_table", "text"]


def print_table(
    title: str, columns: list[str], rows: list[list[str]], *, keep_first: bool = False
) -> None:
    """Print a table. Cells are text, never rich markup (``list[str]``, ``[1, 2]``). With
    `keep_first` the first column (names, ids) is never wrapped and long values fold."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        if keep_first:
            table.add_column(column, no_wrap=index == 0, overflow="fold")
        else:
            table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console().print(table)


def text(value: Any) -> str:
    """A value as a table cell: empty for None and NaN/NaT, lists and dicts joined."""
    if value is None or value != value:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
