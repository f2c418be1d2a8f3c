"""Time ranges of telemetry reads: defaults, relative strings, and validation.

`start` and `end` accept a `datetime` (naive means UTC), a pandas `Timestamp`, an ISO
string (``"2024-05-01T10:00Z"``), ``"now"``, or a duration before now: ``"-2h"``,
``"2h"``, ``"30m"``, ``"90s"``, ``"1d"`` (all "that long before now"). `end` defaults
to `wb.now()` (the seed time on the demo) and `start` to one hour before `end`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import ParameterError

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

TimeLike = datetime | str | None
_DURATION = re.compile(r"^-?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


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


def to_ns(value: Any, now: datetime, field: str) -> int:
    """A point in time as nanoseconds since the epoch (UTC)."""
    import pandas as pd

    if isinstance(value, str):
        text = value.strip()
        if text == "now":
            return _ns(now)
        if _DURATION.match(text):
            return _ns(now) - int(parse_duration(text, field) * 1e9)
        try:
            stamp = pd.Timestamp(text)
        except ValueError:
            raise ParameterError(
                [
                    f"{field}: {value!r} is not a time (use a datetime, an ISO string like "
                    "'2024-05-01T10:00Z', 'now', or a duration before now like '-2h')"
                ]
            ) from None
        value = stamp
    if isinstance(value, datetime):  # includes pandas Timestamp
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.value)
    raise ParameterError([f"{field}: expected a datetime or a string, got {type(value).__name__}"])


def _ns(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def time_range(
    wb: Workbench, start: Any = None, end: Any = None, default: timedelta = timedelta(hours=1)
) -> tuple[int, int]:
    """(start_ns, end_ns) with the defaults filled in; end before start is an error."""
    now = wb.now()
    end_ns = _ns(now) if end is None else to_ns(end, now, "end")
    start_ns = (
        end_ns - int(default.total_seconds() * 1e9) if start is None else to_ns(start, now, "start")
    )
    if end_ns < start_ns:
        raise ParameterError(
            [f"end ({_show(end_ns)}) is before start ({_show(start_ns)}): swap them"],
            subject="time range",
        )
    return start_ns, end_ns


def _show(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds")


def timestamps(values: Any) -> Any:
    """Nanoseconds since the epoch as a ``datetime64[ns, UTC]`` Series."""
    import pandas as pd

    return pd.Series(pd.to_datetime(pd.array(values, dtype="int64"), unit="ns", utc=True))
