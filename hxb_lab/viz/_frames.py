"""What figure builders ask of their frames: the columns they need, and timestamps as numbers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import ParameterError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["first_present", "require", "timestamps"]


def require(frame: Any, columns: Iterable[str], figure: str) -> None:
    """Raise a `ParameterError` naming every missing column and the figure that needs it."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(
            [f"expected a pandas DataFrame, got {type(frame).__name__}"], subject=f"{figure} frame"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "none"
        raise ParameterError(
            [f"missing column {c!r} (the frame has: {have})" for c in missing],
            subject=f"{figure} frame",
        )


def first_present(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first of `candidates` that is a column of `frame` (label spellings differ by source)."""
    return next((c for c in candidates if c in frame.columns), None)


def timestamps(column: pd.Series) -> tuple[np.ndarray, str]:
    """A time column as int64 ticks in its own unit, without copying, and that unit.

    Naive timestamps are taken as UTC, as everywhere in HXB Lab.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(column.dtype, pd.DatetimeTZDtype) and column.dtype.kind != "M":
        column = pd.to_datetime(column, utc=True)
    array = column.array
    unit = str(getattr(array, "unit", "ns"))
    ticks = np.asarray(array.asi8 if hasattr(array, "asi8") else array.view("int64"))
    return ticks, unit
