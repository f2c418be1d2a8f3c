"""Argument checks at the door of every public read: one message shape, naming the field.

A facade checks what it is given before it reads anything, so a wrong type or value is a
one-line `ParameterError` (``"namespace: expected a name or a list of names, got 123"``)
rather than a traceback from deep inside, or a silent empty frame. Numbers are finite;
text is at most `MAX_TEXT` characters (a name, a filter, an id: never a document).
Nested values (JSON text, lists and dicts) are measured without recursion, so a value
nested a million deep is refused as such rather than overflowing the stack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hxb_lab.errors import LimitError, ParameterError

__all__ = [
    "MAX_DEPTH",
    "MAX_TEXT",
    "body_within",
    "depth",
    "flag",
    "json_depth",
    "names",
    "number",
    "path",
    "text",
    "whole",
]

#: The longest text a read accepts as a name, filter or id.
MAX_TEXT = 4096
#: How deeply lists and objects may nest in a parameter value or a request body.
MAX_DEPTH = 32


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _fail(field: str, message: str) -> ParameterError:
    return ParameterError([f"{field}: {message}"])


def text(value: Any, field: str, *, empty: bool = False) -> str:
    """`value` when it is a string (non-empty unless `empty`) of at most `MAX_TEXT` characters."""
    if not isinstance(value, str):
        raise _fail(field, f"expected a string, got {_shown(value)} ({type(value).__name__})")
    if not empty and not value.strip():
        raise _fail(field, "expected a non-empty string")
    if len(value) > MAX_TEXT:
        raise _fail(field, f"{len(value)} characters is too long (at most {MAX_TEXT})")
    return value


def names(value: Any, field: str) -> list[str] | None:
    """None, a name, or a list of names, as a list of non-empty strings (None for None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [text(value, field)]
    if not isinstance(value, Sequence | set | frozenset) or isinstance(value, bytes):
        raise _fail(field, f"expected a name or a list of names, got {_shown(value)}")
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_TEXT:
            raise _fail(field, f"expected a name or a list of names, got {_shown(value)}")
    return items


def flag(value: Any, field: str) -> bool:
    """`value` when it is True or False."""
    if not isinstance(value, bool):
        raise _fail(field, f"expected true or false, got {_shown(value)}")
    return value


def number(
    value: Any, field: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite number within [`minimum`, `maximum`] (either bound optional)."""
    bounds = _bounds(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, f"expected a number{bounds}, got {_shown(value)}")
    if not math.isfinite(value):
        raise _fail(field, f"expected a finite number{bounds}, got {_shown(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(field, f"expected a number{bounds}, got {_shown(value)}")
    return float(value)


def whole(value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number (an int, or a float with no fraction) within the bounds."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    bounds = _bounds(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"expected a whole number{bounds}, got {_shown(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(field, f"expected a whole number{bounds}, got {_shown(value)}")
    return value


def path(value: Any, field: str) -> Path:
    """A directory or file name given as a string or a `Path`."""
    if isinstance(value, Path):
        return value
    return Path(text(value, field))


def json_depth(text: str | bytes, stop: int = MAX_DEPTH) -> int:
    """How deeply the arrays and objects of JSON `text` nest (scanning stops past `stop`).

    Brackets inside strings do not count. The text need not be valid JSON: this runs
    before parsing, so that a parser never recurses into a hostile document.
    """
    data = text.encode() if isinstance(text, str) else text
    level = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            level -= 1
    return deepest


def depth(value: Any, stop: int = MAX_DEPTH) -> int:
    """How deeply lists, tuples and dicts nest in `value` (counting stops past `stop`)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, list | tuple | dict):
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop:
                    return deepest
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level) for child in children)
    return deepest


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" >= {minimum:g}"
    if maximum is not None:
        return f" <= {maximum:g}"
    return ""


def body_within(
    raw: bytes, *, max_bytes: int, max_depth: int, subject: str, too_big: str, too_deep: str
) -> None:
    """`LimitError` (a 413) when a request body is larger than `max_bytes` or nests deeper
    than `max_depth`, checked before any parser sees it. `too_big` and `too_deep` end the
    message: what the sender should do."""
    if len(raw) > max_bytes:
        raise LimitError(
            [f"body: {len(raw):,} bytes is more than the {max_bytes:,} {too_big}"],
            subject=subject,
        )
    if json_depth(raw, max_depth) > max_depth:
        raise LimitError([f"body: nested more than {max_depth} deep{too_deep}"], subject=subject)
