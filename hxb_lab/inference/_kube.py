"""The cluster layer as the inference layer needs it: serving objects of every cluster,
one deployment found by name, and the live connection an action writes through.

Reads go through `Cluster.sources()` (live or snapshot transports), never a client of
our own. A cluster without the KServe or Seldon CRDs simply has none of those objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster import resource
from hxb_lab.cluster.live import LiveSource
from hxb_lab.errors import HxbLabError, NotFoundError, ParameterError

if TYPE_CHECKING:
    from hxb_lab.cluster import Cluster, Resource, Source

__all__ = ["KINDS", "Found", "find", "serving_items"]

Obj = dict[str, Any]
#: deployment kind (our word) -> the Kubernetes resource holding it.
KINDS = {"kserve": "inferenceservices", "seldon": "models"}


@dataclass(frozen=True)
class Found:
    """One deployment object and where it lives."""

    source: Source
    kind: str  # "kserve" | "seldon"
    resource: Resource
    obj: Obj

    @property
    def cluster(self) -> str:
        return self.source.name

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])


def _listed(source: Source, res: Resource, namespaces: Sequence[str] | None) -> Iterator[Obj]:
    try:
        yield from source.items(res, namespaces)
    except NotFoundError:  # the cluster does not have this CRD
        return


def serving_items(
    clusters: Cluster, namespaces: Sequence[str] | None = None, cluster: str | None = None
) -> Iterator[tuple[Source, str, Obj]]:
    """(source, kind, object) for every InferenceService and Seldon Model."""

    for source in clusters.sources():
        if cluster is not None and source.name != cluster:
            continue
        for kind, plural in KINDS.items():
            for obj in _listed(source, resource(plural), namespaces):
                yield source, kind, obj


def _get_live(source: Source, res: Resource, namespace: str, name: str) -> Obj | None:

    assert isinstance(source, LiveSource)
    try:
        obj: Obj = source.context.json(
            "GET", res.path(namespace, name), what=("get", res.qualified, namespace)
        )
    except NotFoundError:
        return None
    obj.setdefault("apiVersion", res.api_version)
    obj.setdefault("kind", res.kind)
    return obj


def find(
    clusters: Cluster, name: str, namespace: str | None = None, cluster: str | None = None
) -> Found:
    """The one deployment called `name` (in `namespace`, on `cluster`), read fresh.

    A name found in several namespaces or clusters is an error listing them all.
    """

    if not isinstance(name, str) or not name:
        raise ParameterError([f"name: expected a deployment name, got {name!r}"])
    sources = [s for s in clusters.sources() if cluster is None or s.name == cluster]
    if not sources:
        known = ", ".join(s.name for s in clusters.sources())
        raise NotFoundError(
            f"no cluster {cluster!r} in profile {clusters.profile_name!r}",
            hint=f"clusters: {known}",
        )
    found: list[Found] = []
    for source in sources:
        for kind, plural in KINDS.items():
            res = resource(plural)
            if namespace is not None and source.transport == "live":
                obj = _get_live(source, res, namespace, name)
                if obj is not None:
                    found.append(Found(source, kind, res, obj))
                continue
            ns = [namespace] if namespace is not None else None
            for obj in _listed(source, res, ns):
                if obj["metadata"]["name"] == name:
                    found.append(Found(source, kind, res, obj))
    if not found:
        names = sorted(
            {o["metadata"]["name"] for _, _, o in serving_items(clusters, None, cluster)}
        )
        close = difflib.get_close_matches(name, names, n=3)
        where = f" in namespace {namespace!r}" if namespace else ""
        hint = f"did you mean {', '.join(close)}?" if close else "see wb.inference.deployments()"
        raise NotFoundError(f"no inference deployment {name!r}{where}", hint=hint)
    if len(found) > 1:
        places = ", ".join(f"{f.cluster}/{f.namespace}" for f in found)
        raise HxbLabError(
            f"{len(found)} inference deployments are called {name!r} ({places})",
            hint="pass namespace= (and cluster=) to choose one",
        )
    one = found[0]
    if one.source.transport == "live" and namespace is None:  # listed: read it fresh
        fresh = _get_live(one.source, one.resource, one.namespace, name)
        if fresh is None:
            raise NotFoundError(f"inference deployment {name!r} was deleted while reading it")
        one = Found(one.source, one.kind, one.resource, fresh)
    return one
