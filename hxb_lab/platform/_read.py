"""Reading one kind of the platform's stack from every cluster, the way its frames need.

Clusters without a kind are normal: an operator that is not installed has no CRD. Such a
read yields nothing and says so in one `PartialReadWarning` naming the CRD (and, when the
API group is there in other versions, which ones it serves). A kind the user may not list,
and objects of a version this release does not know, are one warning each naming the
kind; whatever else could be read is still returned. Objects a controller has not yet
given a status are counted, and named in one warning per kind, by `note_missing_status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster import Resource, resource
from hxb_lab.cluster.live import LiveSource
from hxb_lab.cluster.snapshot import SnapshotSource
from hxb_lab.errors import ForbiddenError, NotFoundError
from hxb_lab.warn import warn_user

if TYPE_CHECKING:
    from hxb_lab.cluster import Cluster, Source

__all__ = [
    "Item", "get_one", "note_missing_status", "read_kind", "served_versions", "unobserved",
]  # fmt: skip

#: (cluster, object)
Item = tuple[str, dict[str, Any]]


def served_versions(source: Source, res: Resource) -> list[str] | None:
    """The versions a live cluster serves `res`'s API group in (None: the group is absent)."""
    if not isinstance(source, LiveSource) or not res.group:
        return None
    try:
        found = source.context.json("GET", f"/apis/{res.group}", what=("get", res.group, None))
    except (NotFoundError, ForbiddenError):
        return None
    return [str(v.get("version")) for v in (found or {}).get("versions") or ()]


def _absent(source: Source, res: Resource) -> None:
    versions = served_versions(source, res)
    if versions:
        warn_user(
            f"cluster {source.name!r} serves {res.group} in version(s) {', '.join(versions)}, "
            f"not {res.version}: its {res.kind}s are not read (this release reads "
            f"{res.api_version})"
        )
    else:
        warn_user(f"no {res.kind}s on cluster {source.name!r}: the CRD {res.qualified} is absent")


def _not_captured(source: SnapshotSource, res: Resource) -> None:
    if not (source.directory / res.file_name).is_file():
        warn_user(
            f"no {res.kind}s in the snapshot of cluster {source.name!r}: it holds no "
            f"{res.file_name} (the CRD {res.qualified} was absent or not captured)"
        )


def read_kind(
    cluster: Cluster, kind: str | Resource, namespaces: Sequence[str] | None = None
) -> Iterator[Item]:
    """(cluster, object) of one kind on every cluster, with the notes described above."""
    res = resource(kind)
    for source in cluster.sources():
        try:
            items = list(source.items(res, namespaces))
            if not items and res.group and isinstance(source, SnapshotSource):
                _not_captured(source, res)
        except NotFoundError:
            if res.group:  # a CRD; the core kinds are always there
                _absent(source, res)
                continue
            raise
        except ForbiddenError as denied:
            warn_user(f"{denied.message}: {res.kind}s of cluster {source.name!r} are left out")
            continue
        known = [i for i in items if _version_known(i, res)]
        if len(known) < len(items):
            others = sorted({str(i.get("apiVersion")) for i in items} - {res.api_version})
            warn_user(
                f"{len(items) - len(known)} {res.kind}(s) on cluster {source.name!r} are of "
                f"{', '.join(others)}, which this release does not read (it reads "
                f"{res.api_version}): left out"
            )
        for item in known:
            yield source.name, item


def _version_known(item: dict[str, Any], res: Resource) -> bool:
    version = item.get("apiVersion")
    return version is None or version == res.api_version  # list items may omit it


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
    bare = [f"{(o.get('metadata') or {}).get('namespace')}/{(o.get('metadata') or {}).get('name')}"
            for _, o in items if unobserved(o, kind)]  # fmt: skip
    if bare:
        shown = ", ".join(bare[:5]) + (f" and {len(bare) - 5} more" if len(bare) > 5 else "")
        warn_user(
            f"{len(bare)} {kind}(s) have no status yet (their controller has not reported): "
            f"{shown}; their status columns are empty"
        )
