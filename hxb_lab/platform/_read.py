"""Reading one kind of the platform's stack from every cluster, the way its frames need.

Operators' kinds (CRDs) and the built-in kinds of optional API groups are read through
`hxb_lab.cluster.optional.optional_items`, the reader the GitOps and policy frames share:
a cluster without the CRD gives no rows and one `AbsentKindWarning` naming it (which
versions it serves instead, when it does); a kind the user may not list, or objects of a
version this release does not read, are one `PartialReadWarning` each, and the rest is read.
Objects a controller has not reported on yet are named once per kind by
`note_missing_status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster import Resource, resource
from hxb_lab.cluster.live import LiveSource
from hxb_lab.cluster.optional import each_cluster, missing_status, optional_items

if TYPE_CHECKING:
    from hxb_lab.cluster import Cluster

__all__ = ["Item", "get_one", "note_missing_status", "read_kind", "unobserved"]

#: (cluster, object)
Item = tuple[str, dict[str, Any]]


def read_kind(
    cluster: Cluster, kind: str | Resource, namespaces: Sequence[str] | None = None
) -> Iterator[Item]:
    """(cluster, object) of one kind on every cluster, with the notes described above."""
    res = resource(kind)
    if res.group:
        yield from optional_items(cluster.sources(), res, namespaces)
        return
    # The core group is always served: only a user who may not list the kind is noted.
    yield from each_cluster(cluster.sources(), res, lambda source: source.items(res, namespaces))


def get_one(cluster: Cluster, kind: str, cluster_name: str, namespace: str, name: str) -> Any:
    """One object by name (None when absent); `ForbiddenError` when the user may not read it.

    A live cluster is asked for that object only (a field selector on its name), so a
    Secret's neighbours never leave the server."""
    res = resource(kind)
    for source in cluster.sources():
        if source.name != cluster_name:
            continue
        if isinstance(source, LiveSource):
            found = source.items(res, [namespace], field_selector=f"metadata.name={name}")
        else:
            found = source.items(res, [namespace])
        for item in found:
            if (item.get("metadata") or {}).get("name") == name:
                return item
    return None


def unobserved(obj: dict[str, Any], kind: str) -> bool:
    """True when no controller has reported on `obj` yet: no status, or (for kinds whose API
    server fills a status in by default, such as PodDisruptionBudget) a status that has
    not observed the object's generation."""
    status = obj.get("status")
    if not status:
        return True
    if "observedGeneration" in status or kind == "PodDisruptionBudget":
        generation = (obj.get("metadata") or {}).get("generation") or 0
        return int(status.get("observedGeneration") or 0) < int(generation or 1)
    return False


def note_missing_status(kind: str, items: Iterable[Item]) -> None:
    """One warning naming the objects of `kind` that have no status yet."""
    missing_status(
        kind,
        [
            f"{(o.get('metadata') or {}).get('namespace')}/{(o.get('metadata') or {}).get('name')}"
            for _, o in items
            if unobserved(o, kind)
        ],
    )
