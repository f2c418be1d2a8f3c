"""The cluster-history table in the telemetry store: written by `hxb-lab record` (and the
demo's seeder), read by `Cluster.history()` and `Cluster.at()`.

On a ClickHouse server or an on-disk chDB the rows are inserted into the table (created
when missing). On a Parquet directory (the demo) each batch is a new file
``<dir>/cluster_changes/<time>-<pid>-<n>.parquet``, written under a temporary name and
renamed, so a reader never sees half a file. Values from users are bound parameters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from hxb_lab.errors import HxbLabError
from hxb_lab.otel_tables import CLUSTER_CHANGES, PARQUET_LAYOUT, STRUCTURES, create_table

if TYPE_CHECKING:
    from hxb_lab.clients.clickhouse import ClickHouse
    from hxb_lab.cluster._changes import Change

__all__ = ["COLUMNS", "ChangeStore", "write_parquet"]

COLUMNS = tuple(STRUCTURES[CLUSTER_CHANGES])
_AT = "Time <= fromUnixTimestamp64Nano({at:Int64}, 'UTC')"


def write_parquet(directory: Path, rows: Sequence[tuple[Any, ...]], stem: str) -> Path:
    """Write `rows` (in `COLUMNS` order, times in ns) as one Parquet file of `directory`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(columns[0], type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))]
    arrays += [pa.array(col, type=pa.string()) for col in columns[1:]]
    table = pa.Table.from_arrays(arrays, names=list(COLUMNS))
    target = directory / f"{stem}.parquet"
    tmp = directory / f".{stem}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(target)
    return target


class ChangeStore:
    """The cluster-history table of one telemetry store."""

    def __init__(self, ch: ClickHouse) -> None:
        self.ch = ch
        self._written = 0

    def __repr__(self) -> str:
        return f"<ChangeStore {self.ch.server} table={self.ch.tables[CLUSTER_CHANGES]!r}>"

    @property
    def directory(self) -> Path | None:
        """The folder of Parquet files, on a Parquet store."""
        if self.ch.directory is None:
            return None
        return self.ch.directory / PARQUET_LAYOUT[CLUSTER_CHANGES]

    def prepare(self) -> None:
        """Make the table (or its folder) exist, so the recorder can write from the start."""
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            return
        create_table(
            self.ch.client, self.ch.database, CLUSTER_CHANGES, self.ch.tables[CLUSTER_CHANGES]
        )

    def require(self) -> None:
        """Fail with what to do when the store holds no cluster history at all (a folder
        the recorder made, still without files, is an empty history)."""
        recorded = (
            self.directory.is_dir() if self.directory is not None else self.ch.has(CLUSTER_CHANGES)
        )
        if not recorded:
            raise HxbLabError(
                f"the telemetry store {self.ch.server} holds no cluster history "
                f"(table {self.ch.tables[CLUSTER_CHANGES]!r})",
                hint="run `hxb-lab record` to record the profile's clusters "
                "(on the demo: `hxb-lab demo --reset`)",
            )

    def write(self, changes: Iterable[Change]) -> int:
        """Append changes; returns how many rows were written."""
        rows = [c.row() for c in changes]
        if not rows:
            return 0
        if self.directory is not None:
            self._written += 1
            stem = (
                f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{os.getpid()}-{self._written:06d}"
            )
            write_parquet(self.directory, rows, f"{stem}-{time.time_ns() % 10**9:09d}")
        else:
            self.ch.client.insert(
                f"`{self.ch.database}`.`{self.ch.tables[CLUSTER_CHANGES]}`",
                rows,
                column_names=list(COLUMNS),
            )
        return len(rows)

    # ------------------------------------------------------------------ reads
    def _nothing_yet(self) -> bool:
        """A Parquet folder without files yet (ClickHouse cannot read an empty glob)."""
        return self.directory is not None and not any(self.directory.glob("*.parquet"))

    def clusters(self, at_ns: int) -> list[str]:
        """The clusters with history up to `at_ns`."""
        if self._nothing_yet():
            return []
        rows = self.ch.rows(
            f"SELECT DISTINCT Cluster FROM ${{{CLUSTER_CHANGES}}} WHERE {_AT} ORDER BY Cluster",
            {"at": at_ns},
        )
        return [str(r[0]) for r in rows]

    def state(self, cluster: str, kind: str, at_ns: int) -> list[dict[str, Any]]:
        """The objects of `kind` on `cluster` as they were at `at_ns` (each one's last row
        up to then, unless that row is its deletion), by namespace and name as an API
        server lists them."""
        if self._nothing_yet():
            return []
        rows = self.ch.rows(
            f"""SELECT argMax(Object, Time) AS object, argMax(Change, Time) AS last
            FROM ${{{CLUSTER_CHANGES}}}
            WHERE Cluster = {{cluster:String}} AND Kind = {{kind:String}} AND {_AT}
            GROUP BY Uid HAVING last != 'DELETED' ORDER BY any(Namespace), any(Name)""",
            {"cluster": cluster, "kind": kind, "at": at_ns},
        )
        return [orjson.loads(r[0]) for r in rows]

    def resume_point(self, cluster: str, kind: str) -> str | None:
        """The newest resourceVersion recorded of `kind` on `cluster` (None: never recorded)."""
        if self._nothing_yet():
            return None
        rows = self.ch.rows(
            f"""SELECT max(toUInt64OrZero(ResourceVersion)), count()
            FROM ${{{CLUSTER_CHANGES}}}
            WHERE Cluster = {{cluster:String}} AND Kind = {{kind:String}}""",
            {"cluster": cluster, "kind": kind},
        )
        newest, count = rows[0] if rows else (0, 0)
        return str(newest) if count and newest else None

    def history(
        self,
        start_ns: int,
        end_ns: int,
        kind: str | None,
        name: str | None,
        namespace: str | None,
        cluster: str | None,
        whats: Sequence[str] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows in [start, end), oldest first (the history frame's columns); only those
        whose What is one of `whats` when given."""
        if self._nothing_yet():
            return []
        where = [
            "Time >= fromUnixTimestamp64Nano({start:Int64}, 'UTC')",
            "Time < fromUnixTimestamp64Nano({end:Int64}, 'UTC')",
        ]
        params: dict[str, Any] = {"start": start_ns, "end": end_ns}
        for column, value in (
            ("Kind", kind),
            ("Name", name),
            ("Namespace", namespace),
            ("Cluster", cluster),
        ):
            if value is not None:
                where.append(f"{column} = {{{column.lower()}:String}}")
                params[column.lower()] = value
        if whats is not None:
            names = [f"what{i}" for i in range(len(whats))]
            where.append(f"What IN ({', '.join(f'{{{n}:String}}' for n in names) or 'NULL'})")
            params.update(zip(names, whats, strict=True))
        return self.ch.rows(
            f"""SELECT toUnixTimestamp64Nano(Time), Cluster, Kind, Namespace, Name, Change,
                What, Who, Summary, Diff, ResourceVersion
            FROM ${{{CLUSTER_CHANGES}}} WHERE {" AND ".join(where)}
            ORDER BY Time, Cluster, Kind, Namespace, Name""",
            params,
        )
