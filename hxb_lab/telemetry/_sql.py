"""Shared pieces of the telemetry SQL: the store, time filters, span spellings, frame types.

Every value from a user is a bound parameter (``{name:Type}``); the only text put into
SQL is ours: table references (``${traces}``, validated names) and the constant spelling
lists below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab import checks
from hxb_lab.clients.clickhouse import open_clickhouse
from hxb_lab.errors import ParameterError
from hxb_lab.frames import TIMESTAMP
from hxb_lab.otel_tables import KINDS, STATUS_ERROR
from hxb_lab.times import timestamps

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.clickhouse import ClickHouse
    from hxb_lab.context import Context

#: Half-open time filter on a DateTime64 column, from bound nanosecond parameters.
TIME = (
    "{col} >= fromUnixTimestamp64Nano({{start:Int64}}, 'UTC') "
    "AND {col} < fromUnixTimestamp64Nano({{end:Int64}}, 'UTC')"
)
IS_ERROR = "StatusCode IN (" + ", ".join(f"'{s}'" for s in STATUS_ERROR) + ")"
#: Every spelling of each status the `status` filters accept, by their short name.
STATUSES = {
    "error": STATUS_ERROR,
    "ok": ("Ok", "STATUS_CODE_OK"),
    "unset": ("Unset", "STATUS_CODE_UNSET"),
}


def time_filter(column: str = "Timestamp") -> str:
    return TIME.format(col=column)


def kind_filter(kinds: Iterable[str]) -> str:
    """``SpanKind IN (...)`` with both spellings of each kind (short names, any case)."""
    spellings: list[str] = []
    for kind in kinds:
        name = kind.removeprefix("SPAN_KIND_").capitalize()
        if name not in KINDS:
            raise ParameterError(
                [f"kind: {kind!r} is not a span kind (use one of {', '.join(KINDS).lower()})"]
            )
        spellings += KINDS[name]
    return "SpanKind IN (" + ", ".join(f"'{s}'" for s in spellings) + ")"


def status_values(status: str) -> tuple[str, ...]:
    """Both spellings of a status given as 'error', 'Error' or 'STATUS_CODE_ERROR'."""
    key = status.strip().lower().removeprefix("status_code_")
    if key not in STATUSES:
        raise ParameterError(
            [f"status: {status!r} is not a span status (use 'error', 'ok' or 'unset')"]
        )
    return STATUSES[key]


STATUS_NAME = (
    "multiIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'error', "
    "StatusCode IN ('Ok', 'STATUS_CODE_OK'), 'ok', 'unset')"
)
KIND_NAME = "lower(replaceOne(SpanKind, 'SPAN_KIND_', ''))"


def store(ctx: Context) -> ClickHouse:
    """The profile's telemetry store, opened on first use."""

    client: ClickHouse = ctx.clients.get("clickhouse", open_clickhouse)
    return client


def typed(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """`frame` with exactly the columns of `types`, in order, converted to their dtype.

    Types: ``str``, ``float``, ``int``, ``ts`` (ns since the epoch -> datetime64[ns, UTC]),
    ``object`` (dicts, lists). An empty result still gets every column with its dtype.
    """
    import pandas as pd

    out: dict[str, Any] = {}
    for name, kind in types.items():
        values = frame[name] if name in frame.columns else pd.Series([], dtype=object)
        if kind == "ts":
            out[name] = timestamps(values.to_numpy(dtype="int64") if len(values) else [])
        elif kind == "float":
            out[name] = pd.Series(values, dtype="float64").reset_index(drop=True)
        elif kind == "int":
            out[name] = pd.Series(values, dtype="int64").reset_index(drop=True)
        elif kind == "str":
            out[name] = pd.Series(values, dtype="str").reset_index(drop=True)
        else:
            out[name] = pd.Series(list(values), dtype=object)
    return pd.DataFrame(out)


def typed_lists(columns: Mapping[str, Sequence[Any]], types: Mapping[str, str]) -> pd.DataFrame:
    """The frame `typed` makes, built straight from one Python list per column of `types`.

    For reads whose rows are made here (Jaeger's traces, a waterfall): each column becomes
    one array of its dtype and the frame is made once, with no intermediate frame or
    Series, which cost a small read far more than its rows do. ``str`` values should be
    strings (others are converted as `typed` does), ``ts`` values whole nanoseconds.
    """
    import numpy as np
    import pandas as pd

    text = [name for name, kind in types.items() if kind == "str"]
    out: dict[str, Any] = dict(zip(text, _strings()([columns[n] for n in text]), strict=True))
    for name, kind in types.items():
        values = columns[name]
        if kind == "ts":
            out[name] = pd.array(np.array(values, dtype="int64").view("M8[ns]"), dtype=_utc())
        elif kind == "float":
            out[name] = np.array(values, dtype="float64")
        elif kind == "int":
            out[name] = np.array(values, dtype="int64")
        elif kind != "str":
            cells = np.empty(len(values), dtype=object)
            for i, value in enumerate(values):  # one cell each: lists stay whole lists
                cells[i] = value
            out[name] = cells
    return pd.DataFrame({name: out[name] for name in types}, copy=False)


@functools.cache
def _utc() -> Any:
    """The dtype of a ``ts`` column, parsed once (by name it costs more than the column)."""
    import pandas as pd

    return pd.api.types.pandas_dtype(TIMESTAMP)


@functools.cache
def _strings() -> Callable[[list[Sequence[Any]]], list[Any]]:
    """What turns columns of strings into arrays of the dtype ``Series(values, dtype="str")``
    has (pandas' arrow strings when it uses them), decided once."""
    import pandas as pd

    def converted(columns: list[Sequence[Any]]) -> list[Any]:
        return [pd.Series(values, dtype="str").array for values in columns]

    dtype = pd.Series([], dtype="str").dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return converted
    import pyarrow as pa

    def arrow(columns: list[Sequence[Any]]) -> list[Any]:
        # The arrow arrays pandas would make, without its per-value checks: one array of
        # every column's strings, each column a slice of it. A value that is not a string
        # takes pandas' own conversion, as in `typed`.
        every: list[Any] = []
        for values in columns:
            every.extend(values)
        try:
            joined = pa.array(every, pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return converted(columns)
        arrays, at = [], 0
        for values in columns:
            arrays.append(pd.arrays.ArrowStringArray(joined.slice(at, len(values)), dtype=dtype))
            at += len(values)
        return arrays

    return arrow


def check_limit(limit: int, field: str = "limit", maximum: int = 100_000) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ParameterError(
            [f"{field}: expected a whole number from 1 to {maximum}, got {limit!r}"]
        )
    return limit


def names(values: str | Sequence[str] | None, field: str) -> list[str]:
    """A name or a list of names as a list of non-empty strings."""
    return checks.names(values, field) or []


def text(value: Any, field: str) -> str:
    """`value` when it is a string (at most `checks.MAX_TEXT` characters), else a
    `ParameterError` naming `field`."""
    return checks.text(value, field, empty=True)
