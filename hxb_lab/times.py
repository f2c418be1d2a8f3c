"""Times and durations as users write them: one grammar for every read, view and runbook.

A *duration* is a number of seconds, a `timedelta`, or text such as ``"90s"``, ``"30m"``,
``"2h"``, ``"1d"``, ``"1w"`` (``ms`` too). A *time* is a `datetime` (naive means UTC), a
pandas `Timestamp`, an ISO string (``"2026-11-27T08:00Z"``), ``"now"``, or a duration
before now (``"2h"`` and ``"-2h"`` both mean two hours ago). "Now" is always the caller's
clock, `wb.now()`, which on the demo is the moment the demo was seeded (`hxb_lab.clock`).

`start`/`end` of telemetry reads, `since` of events and run history, and the custom range
of a view's time control all go through `to_ns`/`to_instant`, so they accept the same text
and refuse bad text with the same message.

Limits, checked here once for every caller: a time lies between `EARLIEST` (1970) and
`LATEST` (2200); an age or a duration is finite and at most `MAX_AGE` (100 years); a
number of seconds is never negative (write ``"-2h"`` or ``"2h"`` for an age). Anything
else is a `ParameterError` naming the field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hxb_lab.errors import ParameterError

__all__ = [
    "DURATION_PATTERN",
    "EARLIEST",
    "LATEST",
    "MAX_AGE",
    "TimeLike",
    "parse_duration",
    "show",
    "since",
    "time_range",
    "timeout",
    "timestamps",
    "to_instant",
    "to_ns",
]

TimeLike = datetime | timedelta | str | None
_DURATION = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
#: A duration as a parameter's text: a number and its unit, no sign (``"90s"``, ``"2h"``).
#: Valid in Python and in JSON Schema (ECMA-262) alike, so the form and the server agree.
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$"
_SIGNED_NUMBER = re.compile(r"^[-+]\s*\d+(?:\.\d+)?$")  # "-5": an age without its unit
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The first and the last moment a time may name, and the longest age or duration.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_AGE = timedelta(days=36_500)
_MAX_AGE_S = MAX_AGE.total_seconds()
_TIME_HELP = (
    "use a datetime, an ISO time like '2026-11-27T08:00Z', 'now', or an age like '30m', '2h', '1d'"
)


def parse_duration(value: Any, field: str) -> float:
    """Seconds in a duration: a number of seconds, a `timedelta`, or ``"30s"``, ``"5m"``...

    A duration is finite, not negative (text may say ``"-5m"``, as an age does) and at
    most `MAX_AGE`; anything else is a `ParameterError` naming `field`.
    """
    seconds: float | None = None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds is None:
        raise ParameterError(
            [f"{field}: {_shown(value)} is not a duration (use seconds, a timedelta, or '30s', "
             "'5m', '1h')"]
        )  # fmt: skip
    if not math.isfinite(seconds) or seconds < 0:
        raise ParameterError(
            [f"{field}: {_shown(value)} is not a duration: give a finite number of seconds "
             ">= 0, or text such as '30s', '5m', '1h'"]
        )  # fmt: skip
    if seconds > _MAX_AGE_S:
        raise ParameterError(
            [f"{field}: {_shown(value)} is longer than {MAX_AGE.days} days: give a shorter "
             "duration or an ISO time"]
        )  # fmt: skip
    return seconds


def timeout(value: Any, field: str = "timeout") -> float | None:
    """A timeout in seconds: None (no limit) or a duration above zero (`parse_duration`)."""
    if value is None:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if (number and not 0 < value < math.inf) or (
        isinstance(value, timedelta) and value <= timedelta(0)
    ):
        raise ParameterError(
            [f"{field}: {_shown(value)} is not a time limit: give seconds above 0, or leave it out"]
        )
    seconds = parse_duration(value, field)
    if seconds <= 0:
        raise ParameterError(
            [f"{field}: {_shown(value)} is no time at all: give seconds above 0, or leave it out"]
        )
    return seconds


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _not_a_time(value: Any, field: str) -> ParameterError:
    return ParameterError([f"{field}: {_shown(value)} is not a time or an age ({_TIME_HELP})"])


def to_ns(value: Any, now: datetime, field: str) -> int:
    """A time (see the module) as nanoseconds since the epoch, UTC, between `EARLIEST` and
    `LATEST`."""
    import pandas as pd

    given = value
    if isinstance(value, timedelta):
        return _checked(_ns(now) - int(parse_duration(value, field) * 1e9), value, field)
    if isinstance(value, str):
        text = value.strip()
        if text == "now":
            return _ns(now)
        if _DURATION.match(text):
            return _checked(_ns(now) - int(parse_duration(text, field) * 1e9), value, field)
        if _SIGNED_NUMBER.match(text):
            raise _a_number(value, field)
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError):
            raise _not_a_time(value, field) from None
        if stamp is pd.NaT:
            raise _not_a_time(value, field)
        value = stamp
    if isinstance(value, datetime):  # includes pandas Timestamp
        if not _in_range(value):
            raise _out_of_range(given, field)
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _a_number(value, field)
    raise ParameterError(
        [f"{field}: expected a datetime, a timedelta or a string, got {type(value).__name__}"]
    )


def _a_number(value: Any, field: str) -> ParameterError:
    return ParameterError(
        [f"{field}: {_shown(value)} is a number, not a time or an age: write an age with "
         "its unit such as '30m' or '2h', or an ISO time"]
    )  # fmt: skip


def _in_range(moment: datetime) -> bool:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return EARLIEST <= aware <= LATEST
    except OverflowError:  # an offset that takes year 1 or 9999 out of datetime's range
        return False


def _out_of_range(value: Any, field: str) -> ParameterError:
    return ParameterError(
        [f"{field}: {_shown(value)} is out of range: a time lies between "
         f"{EARLIEST.year} and {LATEST.year}"]
    )  # fmt: skip


def _checked(ns: int, value: Any, field: str) -> int:
    """`ns` when it lies between `EARLIEST` and `LATEST`, else an error naming `field`."""
    if not _ns(EARLIEST) <= ns <= _ns(LATEST):
        raise _out_of_range(value, field)
    return ns


def to_instant(value: Any, now: datetime, field: str) -> datetime:
    """A time (see the module) as an aware UTC `datetime`."""
    if isinstance(value, datetime) and not hasattr(value, "value"):  # plain datetime: exact
        if not _in_range(value):
            raise _out_of_range(value, field)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    ns = to_ns(value, now, field)
    return datetime.fromtimestamp(ns // 10**9, UTC).replace(microsecond=(ns % 10**9) // 1000)


def since(value: TimeLike, now: datetime, field: str = "since") -> datetime | None:
    """`since=` of a read: None (no bound), else the instant it names (see the module)."""
    return None if value is None else to_instant(value, now, field)


def _ns(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def time_range(
    now: datetime, start: Any = None, end: Any = None, default: timedelta = timedelta(hours=1)
) -> tuple[int, int]:
    """(start_ns, end_ns): `end` defaults to `now`, `start` to `default` before `end`;
    an end before the start is an error."""
    end_ns = _ns(now) if end is None else to_ns(end, now, "end")
    start_ns = (
        end_ns - int(default.total_seconds() * 1e9) if start is None else to_ns(start, now, "start")
    )
    if end_ns < start_ns:
        raise ParameterError(
            [f"end ({show(end_ns)}) is before start ({show(start_ns)}): swap them"],
            subject="time range",
        )
    return start_ns, end_ns


def show(ns: int) -> str:
    """Nanoseconds since the epoch as an ISO time to the second, for messages."""
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds")


def timestamps(values: Any) -> Any:
    """Nanoseconds since the epoch as a ``datetime64[ns, UTC]`` Series."""
    import pandas as pd

    return pd.Series(pd.to_datetime(pd.array(values, dtype="int64"), unit="ns", utc=True))
