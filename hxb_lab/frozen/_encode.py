"""How a call and its frame are written down: the call as canonical JSON, the frame as Parquet.

A call's arguments become plain JSON (times as UTC ISO text, durations as seconds, sets
sorted), so the same call made again, in a replay, finds the same key. A frame keeps its
dtypes and index through Parquet; a column of Python objects (dicts, lists: labels,
selectors) is stored as JSON text and read back as the same objects. Text is redacted on
the way in: a value a run resolved as a secret is never written.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab._redact import redact

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["call_key", "call_text", "plain", "read_frame", "write_frame"]

#: Parquet key-value metadata: the columns stored as JSON text, and whether it was a Series.
_META = b"hxb_lab.frozen"


def plain(value: Any) -> Any:
    """`value` as canonical, JSON-able data (the form a call's arguments are keyed by)."""
    import pandas as pd

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
        return {"time": (stamp.tz_convert("UTC") if stamp.tzinfo else stamp).isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, timedelta):
        return {"seconds": pd.Timedelta(value).total_seconds()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=json.dumps)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, pd.Series | pd.Index):
        return [plain(v) for v in value.tolist()]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        return plain(value.item())
    return {"repr": repr(value)}


def call_key(args: Any, kwargs: Any) -> str:
    """The canonical text of a call's arguments (redacted): equal calls, equal keys."""
    return redact(json.dumps({"args": args, "kwargs": kwargs}, sort_keys=True, default=str))


def call_text(call: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    """``wb.cluster.gpus(by='node')`` as a reader would type it (from plain arguments)."""

    def show(value: Any) -> str:
        if isinstance(value, dict) and len(value) == 1:
            ((kind, inner),) = value.items()
            if kind in ("time", "date", "repr", "float"):
                return str(inner)
        return repr(value)

    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return redact(f"wb.{call}({', '.join(parts)})")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _clean_text(column: pd.Series) -> pd.Series:
    """Redact every distinct text value once."""
    distinct = {v: redact(v) for v in column.dropna().unique() if isinstance(v, str)}
    changed = {k: v for k, v in distinct.items() if k != v}
    return column.replace(changed) if changed else column


def write_frame(frame: pd.DataFrame | pd.Series, path: Path) -> int:
    """Write `frame` (or a Series) to `path` as Parquet, secrets masked; its size in bytes."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    series = isinstance(frame, pd.Series)
    series_name = frame.name if isinstance(frame, pd.Series) else None
    table_frame = frame.to_frame(name="value") if isinstance(frame, pd.Series) else frame
    if not all(isinstance(c, str) for c in table_frame.columns):
        raise TypeError("a frame with column names that are not text")
    out = table_frame.copy(deep=False)
    as_json: list[str] = []
    for name in out.columns:
        column = out[name]
        if column.dtype == object and not all(
            _is_missing(v) or isinstance(v, str) for v in column
        ):  # objects other than text: JSON, read back as the same values
            as_json.append(name)
            out[name] = pd.Series(
                [None if _is_missing(v) else redact(json.dumps(plain_value(v))) for v in column],
                index=out.index,
                dtype=object,
            )
        elif column.dtype == object or pd.api.types.is_string_dtype(column):
            out[name] = _clean_text(column)
    with warnings.catch_warnings():  # pyarrow reads tz-aware columns through `.values`
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        table = pa.Table.from_pandas(out, preserve_index=None)
    meta = dict(table.schema.metadata or {})
    meta[_META] = json.dumps(
        {
            "json_columns": as_json,
            "series": series,
            "series_name": plain(series_name),
            "attrs": json.loads(redact(json.dumps(plain(dict(frame.attrs))))),
        }
    ).encode()
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")
    return path.stat().st_size


def plain_value(value: Any) -> Any:
    """A cell's value as JSON (tuples become lists; numpy values Python ones)."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return plain_value(value.tolist())
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def read_frame(path: Path) -> pd.DataFrame | pd.Series:
    """A frame written by `write_frame`, as it was."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
    frame = table.to_pandas()
    for name in meta.get("json_columns", []):
        frame[name] = [None if v is None else json.loads(v) for v in frame[name]]
        frame[name] = frame[name].astype(object)
    if meta.get("series"):
        frame = frame.iloc[:, 0].rename(meta.get("series_name"))
    frame.attrs.update(meta.get("attrs") or {})
    return frame


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
