"""Kinds a cluster may lack: the CRDs of add-ons (Argo CD, Tekton, Gatekeeper).

`optional_items` reads one such kind from every cluster and never fails for what is normal
on a platform: a cluster without the CRD gives no rows and one `AbsentKindWarning` naming
it; a user who may not list the kind, or objects of a version this reader does not know,
give one `PartialReadWarning` naming the kind, and the other clusters and objects are
still read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster.live import LiveSource
from hxb_lab.cluster.snapshot import SnapshotSource
from hxb_lab.errors import ForbiddenError, NotFoundError
from hxb_lab.warn import PartialReadWarning, warn_user

if TYPE_CHECKING:
    from hxb_lab.cluster import Source
    from hxb_lab.cluster._resources import Resource

__all__ = ["AbsentKindWarning", "each_cluster", "missing_status", "optional_items"]

Obj = dict[str, Any]


class AbsentKindWarning(UserWarning):
    """A cluster has no CRD for a kind asked for (normal: not every cluster runs every
    add-on); its frame is empty for that cluster."""


def _versions_serving(source: LiveSource, res: Resource) -> list[str]:
    """The versions of `res`'s group in which the API server serves its plural (none: the
    cluster has no such CRD)."""
    try:
        group = source.context.json("GET", f"/apis/{res.group}", what=("get", res.group, None))
    except NotFoundError:
        return []
    found = []
    for entry in (group or {}).get("versions") or ():
        version = str(entry.get("version"))
        path = f"/apis/{res.group}/{version}"
        listed = source.context.json("GET", path, what=("get", res.group, None)) or {}
        if any(r.get("name") == res.plural for r in listed.get("resources") or ()):
            found.append(version)
    return found


def _live(
    source: LiveSource, res: Resource, versions: Sequence[str], namespaces: Sequence[str] | None
) -> Iterator[Obj]:
    for version in versions:
        try:
            yield from list(source.items(dataclasses.replace(res, version=version), namespaces))
            return
        except NotFoundError:
            continue
    served = _versions_serving(source, res)
    if not served:
        warn_user(
            f"cluster {source.name!r} has no {res.kind} CRD ({res.qualified}): no rows from it",
            AbsentKindWarning,
        )
    else:
        warn_user(
            f"cluster {source.name!r} serves {res.qualified} in version(s) "
            f"{', '.join(served)}, not {' or '.join(versions)}: its {res.kind} "
            "rows are missing (upgrade the add-on, or ask for HXB Lab to read that version)"
        )


def _snapshot(
    source: SnapshotSource, res: Resource, versions: Sequence[str], namespaces: Sequence[str] | None
) -> Iterator[Obj]:
    if not source.holds(res):
        warn_user(
            f"snapshot {source.name!r} has no {res.kind} list ({res.file_name}): the cluster "
            f"has no {res.qualified} CRD, or the snapshot was taken without it",
            AbsentKindWarning,
        )
        return
    known = {f"{res.group}/{v}" for v in versions}
    unknown: set[str] = set()
    for item in source.items(res, namespaces):
        api_version = item.get("apiVersion")
        if api_version is None or api_version in known:
            yield item
        else:
            unknown.add(str(api_version))
    if unknown:
        warn_user(
            f"snapshot {source.name!r} holds {res.kind} objects of {', '.join(sorted(unknown))},"
            f" which HXB Lab does not read ({' or '.join(sorted(known))}): those are left out"
        )


def each_cluster(
    sources: Sequence[Source], res: Resource, read: Callable[[Source], Iterable[Obj]]
) -> Iterator[tuple[str, Obj]]:
    """``(cluster, object)`` of what `read` gives on each cluster. A cluster whose user may
    not list `res` gives a warning naming it and no rows; the other clusters are still read."""
    for source in sources:
        try:
            items = list(read(source))
        except ForbiddenError as denied:
            warn_user(f"{denied.message} on {source.name!r}: its {res.kind} rows are missing")
            continue
        for item in items:
            yield source.name, item


def optional_items(
    sources: Sequence[Source],
    res: Resource,
    namespaces: Sequence[str] | None = None,
    versions: Sequence[str] = (),
) -> Iterator[tuple[str, Obj]]:
    """``(cluster, object)`` of one add-on kind from every cluster; `versions` are the API
    versions this reader understands, preferred first (default: the resource's own)."""
    wanted = tuple(versions) or (res.version,)

    def read(source: Source) -> Iterable[Obj]:
        if isinstance(source, LiveSource):
            return _live(source, res, wanted, namespaces)
        if isinstance(source, SnapshotSource):
            return _snapshot(source, res, wanted, namespaces)
        return source.items(res, namespaces)

    return each_cluster(sources, res, read)


def missing_status(kind: str, names: Sequence[str]) -> None:
    """One warning for the objects of `kind` that have no status yet (not reconciled)."""
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        warn_user(
            f"{len(names)} {kind} object(s) have no status yet ({shown}): their status "
            "columns are empty",
            PartialReadWarning,
        )
