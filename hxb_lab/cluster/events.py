"""Events as rows, oldest first: what happened to which object, how often, and who said so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVENT_COLUMNS", "events_frame"]

EVENT_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("time", _frame.TIMESTAMP),
    ("first_seen", _frame.TIMESTAMP),
    ("type", "str"),
    ("reason", "str"),
    ("object_kind", "str"),
    ("object_name", "str"),
    ("message", "str"),
    ("count", "int64"),
    ("source", "str"),
)


def event_row(cluster: str, item: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = item.get("metadata") or {}
    involved = item.get("involvedObject") or item.get("regarding") or {}
    series = item.get("series") or {}
    last = (
        item.get("lastTimestamp")
        or series.get("lastObservedTime")
        or item.get("eventTime")
        or item.get("firstTimestamp")
        or meta.get("creationTimestamp")
    )
    first = item.get("firstTimestamp") or item.get("eventTime") or last
    source = (item.get("source") or {}).get("component") or item.get("reportingComponent")
    count = item.get("count") or series.get("count") or 1
    return (
        cluster,
        meta.get("namespace"),
        last,
        first,
        item.get("type"),
        item.get("reason"),
        involved.get("kind"),
        involved.get("name"),
        item.get("message") or item.get("note"),
        int(count),
        source or None,
    )


def events_frame(
    items: Iterable[tuple[str, Mapping[str, Any]]],
    since: datetime | None = None,
    warnings_only: bool = False,
) -> pd.DataFrame:
    rows = [event_row(cluster, item) for cluster, item in items]
    if warnings_only:
        rows = [r for r in rows if r[4] == "Warning"]
    frame = _frame.build(EVENT_COLUMNS, rows)
    if since is not None:
        frame = frame[frame["time"] >= since]
    return frame.sort_values(["time", "cluster", "namespace"], kind="stable").reset_index(drop=True)
