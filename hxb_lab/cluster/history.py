"""The cluster's past as data: the history frame, and the objects as they were at a moment.

`history_frame` turns rows of the cluster-history table into the frame of
`Cluster.history()`. `HistorySource` is a transport like the live and snapshot ones, whose
objects are those of one cluster at a past moment, so `Cluster.at(time)` answers every
frame (nodes, pods, workloads, gpus ...) with the live frames' columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from hxb_lab import frames as _frame
from hxb_lab.cluster._resources import Resource
from hxb_lab.cluster._selectors import Selector, matching

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster._store import ChangeStore

__all__ = ["HISTORY_COLUMNS", "HistorySource", "history_frame"]

HISTORY_COLUMNS: _frame.Schema = (
    ("time", _frame.TIMESTAMP),
    ("cluster", "str"),
    ("kind", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("change", "str"),
    ("what", "str"),
    ("who", "str"),
    ("summary", "str"),
    ("diff", "object"),
    ("resource_version", "str"),
)


def history_frame(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The history frame of store rows (time in ns, diff as JSON text)."""
    import pandas as pd

    built = [(pd.Timestamp(r[0], tz="UTC"), *r[1:9], orjson.loads(r[9]), r[10]) for r in rows]
    return _frame.build(HISTORY_COLUMNS, built)


class HistorySource:
    """One cluster's objects as they were at `at_ns`, read from the history table on
    demand (each kind once)."""

    transport = "history"

    def __init__(self, store: ChangeStore, name: str, at_ns: int) -> None:
        self.store = store
        self.name = name
        self.at_ns = at_ns
        self._kinds: dict[str, list[dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"<HistorySource {self.name!r} at {self.at_ns}>"

    def describe(self) -> dict[str, Any]:
        return {"server": repr(self.store), "user": None, "namespace": None}

    def items(
        self,
        res: Resource,
        namespaces: Sequence[str] | None = None,
        selector: Selector | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The objects of one kind then, optionally only in `namespaces` matching `selector`."""
        if res.kind not in self._kinds:
            self._kinds[res.kind] = self.store.state(self.name, res.kind, self.at_ns)
        wanted = set(namespaces) if namespaces is not None and res.namespaced else None
        yield from matching(self._kinds[res.kind], wanted, selector)
