"""What an earlier Knative revision of an InferenceService served.

The InferenceService's spec only holds its latest model. Each revision runs as a
Deployment labelled ``serving.knative.dev/revision=<revision>``, whose pod template keeps
that revision's storage URI (KServe's annotation for the storage initializer) and the
labels the InferenceService had then (``hxb.io/model``, ``hxb.io/model-version``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster import parse_selector, resource
from hxb_lab.cluster.live import LiveSource
from hxb_lab.errors import ForbiddenError, NotFoundError
from hxb_lab.inference._model_ref import MODEL_LABEL, VERSION_LABEL

if TYPE_CHECKING:
    from hxb_lab.cluster import Cluster, Resource, Selector, Source

__all__ = ["REVISION_LABEL", "Revision", "revisions"]

REVISION_LABEL = "serving.knative.dev/revision"
#: KServe's pod-template annotation telling the storage initializer what to download.
SOURCE_URI_ANNOTATION = "internal.serving.kserve.io/storage-initializer-sourceuri"


@dataclass(frozen=True)
class Revision:
    """One revision's model: its storage URI and registered model version, when known."""

    name: str
    storage_uri: str | None
    model: str | None
    version: int | None


def _revision(item: dict[str, Any]) -> tuple[str, Revision] | None:
    meta = item.get("metadata") or {}
    template = (item.get("spec") or {}).get("template") or {}
    template_meta = template.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), **(template_meta.get("labels") or {})}
    name = labels.get(REVISION_LABEL)
    if not name:
        return None
    annotations = {**(meta.get("annotations") or {}), **(template_meta.get("annotations") or {})}
    version = str(labels.get(VERSION_LABEL, ""))
    return str(meta.get("namespace") or ""), Revision(
        str(name),
        annotations.get(SOURCE_URI_ANNOTATION),
        labels.get(MODEL_LABEL),
        int(version) if version.isdigit() else None,
    )


def _listed(
    source: Source, res: Resource, namespaces: list[str], selector: Selector
) -> list[dict[str, Any]]:
    """The revision Deployments in `namespaces`: one cluster-wide list when there are many
    namespaces and the user may list cluster-wide, else one list per namespace."""

    if isinstance(source, LiveSource) and len(namespaces) > 3:
        wanted = set(namespaces)
        params = [("labelSelector", selector.text)]
        what = ("list", res.qualified, None)
        try:
            pages = source.context.list_pages(res.path(), params, limit=500, what=what)
            return [
                item
                for page in pages
                for item in page.get("items") or ()
                if (item.get("metadata") or {}).get("namespace") in wanted
            ]
        except ForbiddenError:
            pass  # a namespace-restricted user: list namespace by namespace
    return list(source.items(res, namespaces, selector))


def revisions(
    clusters: Cluster, wanted: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Revision]:
    """(cluster, namespace, revision) -> `Revision`, for the revisions in `wanted`."""

    todo = set(wanted)
    if not todo:
        return {}
    res = resource("deployments")
    found: dict[tuple[str, str, str], Revision] = {}
    for source in clusters.sources():
        mine = [(ns, rev) for cluster, ns, rev in todo if cluster == source.name]
        if not mine:
            continue
        names = sorted({rev for _, rev in mine})
        text = f"{REVISION_LABEL} in ({','.join(names)})" if len(names) <= 50 else REVISION_LABEL
        selector = parse_selector(text)
        assert selector is not None
        try:
            items = _listed(source, res, sorted({ns for ns, _ in mine}), selector)
        except NotFoundError:
            continue
        for item in items:
            parsed = _revision(item)
            if parsed is None:
                continue
            key = (source.name, parsed[0], parsed[1].name)
            if key in todo:
                found[key] = parsed[1]
    return found
