"""The snapshot transport: a directory of ``kubectl get <kind> -A -o json`` lists.

Layout: ``<dir>/<cluster>/<plural>[.<group>].json`` for several clusters, or the files
directly in ``<dir>`` for one cluster named after the directory. A kind without its
canonical file is looked for in any other ``*.json`` list of the directory (so the
output of ``kubectl get pods,nodes -A -o json > all.json`` works too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from hxb_lab.cluster._resources import KINDS, Resource
from hxb_lab.cluster._selectors import Selector, matching
from hxb_lab.errors import ClusterError

__all__ = ["SnapshotSource", "snapshot_sources", "write_list"]

_CANONICAL = {r.file_name for r in KINDS}


class SnapshotSource:
    """One cluster's snapshot directory, read on demand (files are re-read on each call)."""

    transport = "snapshot"

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory

    def __repr__(self) -> str:
        return f"<SnapshotSource {self.name!r} at {self.directory}>"

    def describe(self) -> dict[str, Any]:
        return {"server": str(self.directory), "user": None, "namespace": None}

    def items(
        self,
        res: Resource,
        namespaces: Sequence[str] | None = None,
        selector: Selector | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The objects of one kind, optionally only in `namespaces` and matching `selector`."""
        wanted = set(namespaces) if namespaces is not None and res.namespaced else None
        if wanted is None and selector is None:
            yield from self._load(res)
            return
        yield from matching(self._load(res), wanted, selector)

    def holds(self, res: Resource) -> bool:
        """True when the snapshot has a list of this kind (``kubectl get`` of a kind whose
        CRD a cluster lacks fails, so no file is written for it)."""
        return (self.directory / res.file_name).is_file() or bool(self._load(res))

    def _load(self, res: Resource) -> list[dict[str, Any]]:
        path = self.directory / res.file_name
        if path.is_file():
            return _read_list(path, res)
        found: list[dict[str, Any]] = []
        for other in sorted(self.directory.glob("*.json")):
            if other.name in _CANONICAL:
                continue
            found.extend(
                i
                for i in _read_list(other, None)
                if i.get("kind") == res.kind and _group(i.get("apiVersion")) == res.group
            )
        return found


def _group(api_version: object) -> str:
    text = str(api_version or "")
    return text.rpartition("/")[0]


def _read_list(path: Path, res: Resource | None) -> list[dict[str, Any]]:
    remake = (
        f"re-create it with `kubectl get {res.qualified} -A -o json > {path.name}`"
        if res
        else "re-create it with `kubectl get ... -o json`"
    )
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ClusterError(f"snapshot file {path} is not valid JSON: {exc}", hint=remake) from None
    except OSError as exc:
        raise ClusterError(f"cannot read snapshot file {path}: {exc.strerror}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items: list[dict[str, Any]] = [i for i in data["items"] if isinstance(i, dict)]
        if len(items) != len(data["items"]):
            raise ClusterError(f"snapshot file {path} has items that are not objects", hint=remake)
        return items
    if isinstance(data, dict) and "metadata" in data and "kind" in data:
        return [data]  # a single object (`kubectl get pod x -o json`)
    raise ClusterError(
        f"snapshot file {path} is not a Kubernetes List (no 'items' array)", hint=remake
    )


def _has_lists(directory: Path) -> bool:
    return any(p.suffix == ".json" for p in directory.iterdir() if p.is_file())


def snapshot_sources(directory: str | os.PathLike[str]) -> list[SnapshotSource]:
    """The clusters of a snapshot directory (one per subdirectory, or the directory itself)."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ClusterError(
            f"the snapshot directory {root} does not exist",
            hint="run `hxb-lab demo` for the demo, or `hxb-lab cluster snapshot DIR` to take one",
        )
    if _has_lists(root):
        return [SnapshotSource(root.name, root)]
    found = [
        SnapshotSource(sub.name, sub)
        for sub in sorted(root.iterdir())
        if sub.is_dir() and not sub.name.startswith(".") and _has_lists(sub)
    ]
    if not found:
        raise ClusterError(
            f"the snapshot directory {root} holds no *.json lists",
            hint="expected <dir>/<cluster>/pods.json, nodes.json, ... as written by "
            "`hxb-lab cluster snapshot`",
        )
    return found


def write_list(
    directory: Path, res: Resource, items: Iterable[dict[str, Any]], *, stamp_kind: bool = True
) -> int:
    """Write one kind as ``kubectl get -A -o json`` does; returns the number of items."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for item in items:
        if stamp_kind and "kind" not in item:  # list responses omit them; kubectl adds them
            item = {"apiVersion": res.api_version, "kind": res.kind, **item}
        out.append(item)
    body = {"apiVersion": "v1", "items": out, "kind": "List", "metadata": {"resourceVersion": ""}}
    target = directory / res.file_name
    tmp = target.with_suffix(".json.tmp")
    tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    tmp.replace(target)
    return len(out)
