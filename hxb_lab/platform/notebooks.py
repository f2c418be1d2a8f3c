"""Kubeflow Notebooks: the notebook servers users start, what GPUs each holds, and which of
them hold GPUs while doing nothing (the cull candidates), by DCGM's utilisation of the
notebook's pod.

The Notebook controller runs each Notebook as a StatefulSet of the same name whose pod is
``<name>-0`` and carries the label ``notebook-name``; Kubeflow's culler stops a Notebook
by the annotation ``kubeflow-resource-stopped`` and records the kernel's last activity in
``notebooks.kubeflow.org/last-activity``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster.pods import pod_requests

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.platform._read import Item

__all__ = ["NOTEBOOK_COLUMNS", "notebooks_frame", "with_utilization"]

STOPPED = "kubeflow-resource-stopped"
LAST_ACTIVITY = "notebooks.kubeflow.org/last-activity"

NOTEBOOK_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("status", "str"),
    ("image", "str"),
    ("gpus", "int64"),
    ("mig_devices", "int64"),
    ("gpu_product", "str"),
    ("pod", "str"),
    ("node", "str"),
    ("last_activity", _frame.TIMESTAMP),
    ("created", _frame.TIMESTAMP),
)


def _status(notebook: Mapping[str, Any], pod: Mapping[str, Any] | None) -> str:
    annotations = (notebook.get("metadata") or {}).get("annotations") or {}
    if STOPPED in annotations:
        return "Stopped"
    status = notebook.get("status") or {}
    state = status.get("containerState") or {}
    if "waiting" in state:
        return str((state["waiting"] or {}).get("reason") or "Waiting")
    if "terminated" in state:
        return str((state["terminated"] or {}).get("reason") or "Terminated")
    if status.get("readyReplicas"):
        return "Running"
    if pod is not None:
        return str((pod.get("status") or {}).get("phase") or "Pending")
    return "Pending" if status else "Unknown"


def notebooks_frame(
    notebooks: Iterable[Item],
    pods: Iterable[Item],
    nodes: Iterable[Item],
    workspaces: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    """One row per Notebook (see `Platform.notebooks`)."""
    by_name: dict[tuple[str, str, str], dict[str, Any]] = {}
    for cluster, server in pods:
        meta = server.get("metadata") or {}
        owner = (meta.get("labels") or {}).get("notebook-name")
        if owner:
            by_name[(cluster, str(meta.get("namespace")), str(owner))] = server
    products = {
        (c, str((n.get("metadata") or {}).get("name"))): ((n.get("metadata") or {}).get("labels")
                                                          or {}).get("nvidia.com/gpu.product")
        for c, n in nodes
    }  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    for cluster, nb in notebooks:
        meta = nb.get("metadata") or {}
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        template = (((nb.get("spec") or {}).get("template") or {}).get("spec")) or {}
        _, _, gpus, mig = pod_requests(template)
        containers = template.get("containers") or ()
        pod = by_name.get((cluster, ns, name))
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        product = products.get((cluster, str(node))) if node else None
        selector = (template.get("nodeSelector") or {}).get("nvidia.com/gpu.product")
        annotations = meta.get("annotations") or {}
        rows.append(
            (cluster, ns, workspaces.get(cluster, {}).get(ns), name, _status(nb, pod),
             containers[0].get("image") if containers else None, int(gpus),
             int(mig),
             product or selector if (gpus or mig) else None,
             ((pod or {}).get("metadata") or {}).get("name"), node,
             annotations.get(LAST_ACTIVITY), meta.get("creationTimestamp"))
        )  # fmt: skip
    return _frame.build(NOTEBOOK_COLUMNS, rows)


def with_utilization(
    notebooks: pd.DataFrame, utilization: pd.DataFrame, idle_below: float
) -> pd.DataFrame:
    """`notebooks` with ``utilization_pct`` (mean DCGM utilisation of its pod's GPUs over the
    range; NaN without samples), ``samples`` and ``cull_candidate`` (holds GPUs, running,
    and under `idle_below` %, or holding whole GPUs without samples)."""
    import pandas as pd

    if {"namespace", "pod", "value"} <= set(utilization.columns) and not utilization.empty:
        busy = (
            utilization[utilization["pod"].fillna("") != ""]
            .groupby(["namespace", "pod"])["value"]
            .agg(utilization_pct="mean", samples="count")
            .reset_index()
        )
    else:
        busy = pd.DataFrame(
            {"namespace": pd.Series(dtype="str"), "pod": pd.Series(dtype="str"),
             "utilization_pct": pd.Series(dtype="float64"), "samples": pd.Series(dtype="int64")}
        )  # fmt: skip
    joined = notebooks.merge(busy, on=["namespace", "pod"], how="left")
    joined["samples"] = joined["samples"].fillna(0).astype("int64")
    holds = (joined["gpus"] + joined["mig_devices"]) > 0
    # A whole GPU without samples is idle (DCGM reports every GPU a pod holds); MIG devices
    # often come without the pod's name, so their silence says nothing.
    silent = (joined["samples"] == 0) & (joined["gpus"] > 0)
    idle = (joined["utilization_pct"] < idle_below) | silent
    joined["cull_candidate"] = holds & (joined["status"] == "Running") & idle
    return joined
