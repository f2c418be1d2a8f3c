"""Every inference deployment (KServe InferenceServices and Seldon Models) as one frame,
and the pods behind one of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab import frames
from hxb_lab._redact import redact_url
from hxb_lab.cluster import parse_selector, resource
from hxb_lab.cluster.pods import POD_COLUMNS, pod_row
from hxb_lab.errors import ForbiddenError
from hxb_lab.inference import _kserve, _seldon
from hxb_lab.inference._kube import Found, serving_items
from hxb_lab.inference._model_ref import VERSION_LABEL
from hxb_lab.inference._revisions import REVISION_LABEL, revisions
from hxb_lab.warn import warn_user

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster

__all__ = ["DEPLOYMENT_COLUMNS", "POD_EXTRA_COLUMNS", "deployments_frame", "pods_frame"]

DEPLOYMENT_COLUMNS: frames.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("kind", "str"),
    ("ready", "bool"),
    ("reason", "str"),
    ("message", "str"),
    ("url", "str"),
    ("model_format", "str"),
    ("runtime", "str"),
    ("storage_uri", "str"),
    ("model_name", "str"),
    ("model_version", "Int64"),
    ("previous_model_version", "Int64"),
    ("min_replicas", "Int64"),
    ("max_replicas", "Int64"),
    ("replicas", "Int64"),
    ("ready_replicas", "Int64"),
    ("gpus_per_replica", "int64"),
    ("gpu_product", "str"),
    ("canary_percent", "Int64"),
    ("latest_ready_revision", "str"),
    ("previous_revision", "str"),
    ("created", frames.TIMESTAMP),
)
_ROWS = {"kserve": _kserve.row, "seldon": _seldon.row}


def deployment_row(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The frame's columns (but cluster and workspace) of one serving object."""
    row = _ROWS[kind](obj)
    if row["storage_uri"]:
        row["storage_uri"] = redact_url(str(row["storage_uri"]))
    return row


def deployments_frame(
    clusters: Cluster, namespaces: Sequence[str] | None = None, cluster: str | None = None
) -> pd.DataFrame:
    """One row per deployment, sorted by cluster, namespace and name."""

    workspaces = clusters.workspace_map()
    rows: list[dict[str, Any]] = []
    for source, kind, obj in serving_items(clusters, namespaces, cluster):
        row = deployment_row(kind, obj)
        row["cluster"] = source.name
        row["workspace"] = workspaces.get(source.name, {}).get(row["namespace"] or "")
        rows.append(row)
    wanted = [
        (r["cluster"], r["namespace"], r["previous_revision"])
        for r in rows
        if r["previous_revision"]
    ]
    previous = revisions(clusters, wanted)
    for r in rows:
        before = previous.get((r["cluster"], r["namespace"], r["previous_revision"]))
        r["previous_model_version"] = before.version if before is not None else None
    rows.sort(key=lambda r: (r["cluster"], r["namespace"] or "", r["name"] or ""))
    names = [name for name, _ in DEPLOYMENT_COLUMNS]
    return frames.build(DEPLOYMENT_COLUMNS, [tuple(r[n] for n in names) for r in rows])


POD_EXTRA_COLUMNS: frames.Schema = (
    ("deployment", "str"),
    ("component", "str"),
    ("revision", "str"),
    ("model_version", "Int64"),
    ("gpu_product", "str"),
)


def pods_frame(clusters: Cluster, found: Found) -> pd.DataFrame:
    """The pods of one deployment, with the revision and model version each one runs and
    the GPU product of its node."""

    selector_text = (
        _kserve.serving_selector(found.obj)
        if found.kind == "kserve"
        else _seldon.serving_selector(found.obj)
    )
    selector = parse_selector(selector_text)
    items = list(found.source.items(resource("pods"), [found.namespace], selector))
    products: dict[str, str | None] = {}
    if any((i.get("spec") or {}).get("nodeName") for i in items):
        try:
            for item in found.source.items(resource("nodes")):
                meta = item.get("metadata") or {}
                labels = meta.get("labels") or {}
                products[meta.get("name", "")] = labels.get(_kserve.GPU_PRODUCT)
        except ForbiddenError as exc:
            warn_user(
                f"user {exc.user!r} may not list nodes on {found.cluster!r}: "
                "the gpu_product column is empty"
            )
    workspaces = clusters.workspace_map().get(found.cluster, {})
    rows = []
    for item in sorted(items, key=lambda i: i["metadata"]["name"]):
        labels = item["metadata"].get("labels") or {}
        version = str(labels.get(VERSION_LABEL, ""))
        node = (item.get("spec") or {}).get("nodeName")
        rows.append(
            (
                *pod_row(found.cluster, item, workspaces),
                found.name,
                labels.get("component"),
                labels.get(REVISION_LABEL),
                int(version) if version.isdigit() else None,
                products.get(node) if node else None,
            )
        )
    return frames.build((*POD_COLUMNS, *POD_EXTRA_COLUMNS), rows)
