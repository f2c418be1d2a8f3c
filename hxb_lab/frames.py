"""The frame contract every domain read is built with.

A read declares its columns once as a `Schema` of ``(column, dtype)`` pairs and builds its
frame from row tuples with `build`, so an empty read has the same columns and dtypes as a
full one. Timestamps use `TIMESTAMP` (``datetime64[ns, UTC]``). `bulk` runs a read that
parses whole lists with the garbage collector paused.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIMESTAMP", "Schema", "build", "bulk", "empty", "gc_paused"]

P = ParamSpec("P")
R = TypeVar("R")

#: (column, dtype) pairs; dtype is one of "str", "bool", "int64", "float64",
#: "datetime64[ns, UTC]", "timedelta64[ns]" or "object" (dicts, such as labels).
Schema = Sequence[tuple[str, str]]

TIMESTAMP = "datetime64[ns, UTC]"


def _series(values: Sequence[Any], dtype: str) -> pd.Series:
    import pandas as pd

    if dtype == TIMESTAMP:
        raw = pd.Series(values, dtype=object)
        return pd.to_datetime(raw, utc=True, format="ISO8601").astype(TIMESTAMP)
    return pd.Series(values, dtype=dtype)


def build(schema: Schema, rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A frame of `rows` (tuples in schema order) with the schema's dtypes."""
    import pandas as pd

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    data = {name: _series(col, dtype) for (name, dtype), col in zip(schema, columns, strict=True)}
    return pd.DataFrame(data, columns=[name for name, _ in schema])


def empty(schema: Schema) -> pd.DataFrame:
    return build(schema, [])


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects (parsed JSON,
    row tuples) are made: otherwise its passes over them cost more than the parsing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def bulk(read: Callable[P, R]) -> Callable[P, R]:
    """Decorate a read that parses whole lists: run it with the collector paused."""

    @functools.wraps(read)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with gc_paused():
            return read(*args, **kwargs)

    return wrapper
