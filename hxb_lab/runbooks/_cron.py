"""Cron expressions as a Kubernetes CronJob accepts them, checked before submission."""

from __future__ import annotations

import re

from hxb_lab.errors import ParameterError

__all__ = ["check_cron"]

_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
#: (field name, lowest, highest, names for the values starting at `lowest`)
_FIELDS: list[tuple[str, int, int, list[str]]] = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),  # Kubernetes refuses 7 for Sunday
]
_PART = re.compile(r"^(\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d+))?$")


def _value(text: str, low: int, high: int, names: list[str], field: str) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit():
        raise ValueError(f"{field}: {text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{field}: {value} is outside {low}-{high}")
    return value


def _check_field(text: str, field: str, low: int, high: int, names: list[str]) -> None:
    for part in text.split(","):
        match = _PART.match(part)
        if not match:
            raise ValueError(f"{field}: {part!r} is not a value, range, list or step")
        base, step = match.groups()
        if step is not None and int(step) == 0:
            raise ValueError(f"{field}: a step of 0 never fires")
        if base == "?" and field not in ("day of month", "day of week"):
            raise ValueError(f"{field}: '?' is only allowed for the day fields")
        if base in ("*", "?"):
            continue
        first, _, last = base.partition("-")
        start = _value(first, low, high, names, field)
        if last and _value(last, low, high, names, field) < start:
            raise ValueError(f"{field}: the range {base!r} runs backwards")


def check_cron(expression: str, *, where: str = "cron") -> str:
    """The expression, stripped, or `ParameterError` naming the field that is wrong."""
    text = " ".join(expression.split())
    if text.lower() in _MACROS:
        return text
    fields = text.split(" ")
    if len(fields) != 5:
        raise ParameterError(
            [
                f"{expression!r} has {len(fields)} fields; a cron expression has 5 "
                "(minute hour day-of-month month day-of-week), e.g. '0 6 * * *', or is one of "
                + ", ".join(sorted(_MACROS))
            ],
            subject=where,
        )
    problems = []
    for value, (field, low, high, names) in zip(fields, _FIELDS, strict=True):
        try:
            _check_field(value, field, low, high, names)
        except ValueError as exc:
            problems.append(f"{expression!r}: {exc}")
    if problems:
        raise ParameterError(problems, subject=where)
    return text
