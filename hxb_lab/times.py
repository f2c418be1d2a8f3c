"""Times and durations as users write them: one grammar for every read, view and runbook.

A *duration* is a number of seconds, a `timedelta`, or text such as ``"90s"``, ``"30m"``,
``"2h"``, ``"1d"``, ``"1w"`` (``ms`` too). A *time* is a `datetime` (naive means UTC), a
pandas `Timestamp`, an ISO string (``"2026-11-27T08:00Z"``), ``"now"``, or a duration
before now (``"2h"`` and ``"-2h"`` both mean two hours ago). "Now" is always the caller's
clock, `wb.now()`, which on the demo is the moment the demo was seeded (`hxb_lab.clock`).

`start`/`end` of telemetry reads, `since` of events and run history, and the custom range
of a view's time control all go through `to_ns`/`to_instant`, so they accept the same text
and refuse bad text with the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hxb_lab.errors import ParameterError

__all__ = [
    "TimeLike",
    "parse_duration",
    "show",
    "since",
    "time_range",
    "timestamps",
    "to_instant",
    "to_ns",
]

TimeLike = datetime | timedelta | str | None
_DURATION = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME_HELP = (
    "use a datetime, an ISO time like '2026-11-27T08:00Z', 'now', or an age like '30m', '2h', '1d'"
)


def parse_duration(value: Any, field: str) -> float:
    """Seconds in a duration: a number of seconds, a `timedelta`, or ``"30s"``, ``"5m"``..."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ParameterError(
        [f"{field}: {value!r} is not a duration (use seconds, a timedelta, or '30s', '5m', '1h')"]
    )


def _not_a_time(value: Any, field: str) -> ParameterError:
    return ParameterError([f"{field}: {value!r} is not a time or an age ({_TIME_HELP})"])


def to_ns(value: Any, now: datetime, field: str) -> int:
    """A time (see the module) as nanoseconds since the epoch, UTC."""
    import pandas as pd

    if isinstance(value, timedelta):
        return _ns(now) - int(value.total_seconds() * 1e9)
    if isinstance(value, str):
        text = value.strip()
        if text == "now":
            return _ns(now)
        if _DURATION.match(text):
            return _ns(now) - int(parse_duration(text, field) * 1e9)
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise _not_a_time(value, field) from None
        if stamp is pd.NaT:
            raise _not_a_time(value, field)
        value = stamp
    if isinstance(value, datetime):  # includes pandas Timestamp
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.value)
    raise ParameterError(
        [f"{field}: expected a datetime, a timedelta or a string, got {type(value).__name__}"]
    )


def to_instant(value: Any, now: datetime, field: str) -> datetime:
    """A time (see the module) as an aware UTC `datetime`."""
    if isinstance(value, datetime) and not hasattr(value, "value"):  # plain datetime: exact
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
