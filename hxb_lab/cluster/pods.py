"""Pods as rows: status as kubectl shows it, resource requests as numbers, the owner, and
the pod's labels and annotations as they are (dicts of str -> str)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GPU", "POD_COLUMNS", "TERMINAL", "pod_requests", "pod_row", "pods_frame"]

GPU = "nvidia.com/gpu"
MIG_PREFIX = "nvidia.com/mig-"
TERMINAL = ("Succeeded", "Failed")

POD_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("phase", "str"),
    ("reason", "str"),
    ("ready", "bool"),
    ("restarts", "int64"),
    ("node", "str"),
    ("cpu_requests", "float64"),
    ("memory_requests", "int64"),
    ("gpu_requests", "int64"),
    ("mig_requests", "int64"),
    ("owner_kind", "str"),
    ("owner_name", "str"),
    ("workload_kind", "str"),
    ("workload_name", "str"),
    ("last_termination_reason", "str"),
    ("started", _frame.TIMESTAMP),
    ("created", _frame.TIMESTAMP),
    ("labels", "object"),
    ("annotations", "object"),
)


def _container_requests(container: Mapping[str, Any]) -> tuple[float, float, float, float]:
    resources = container.get("resources") or {}
    req = resources.get("requests") or {}
    lim = resources.get("limits") or {}
    # An unset request defaults to the limit (the API server does the same on create).
    cpu = quantity(req.get("cpu", lim.get("cpu")))
    mem = quantity(req.get("memory", lim.get("memory")))
    gpu = quantity(req.get(GPU, lim.get(GPU)))
    mig = 0.0
    for key in {*req, *lim}:
        if key.startswith(MIG_PREFIX):
            mig += quantity(req.get(key, lim.get(key)))
    return cpu, mem, gpu, mig


def pod_requests(spec: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Effective (cpu cores, memory bytes, GPUs, MIG devices) a pod asks the scheduler for:
    the larger of its containers' sum and its largest init container, plus overhead."""
    total = [0.0, 0.0, 0.0, 0.0]
    for container in spec.get("containers") or ():
        for i, value in enumerate(_container_requests(container)):
            total[i] += value
    for container in spec.get("initContainers") or ():
        for i, value in enumerate(_container_requests(container)):
            total[i] = max(total[i], value)
    overhead = spec.get("overhead") or {}
    total[0] += quantity(overhead.get("cpu"))
    total[1] += quantity(overhead.get("memory"))
    return total[0], total[1], total[2], total[3]


def _reason(meta: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    if meta.get("deletionTimestamp"):
        return "Terminating"
    if status.get("reason"):
        return str(status["reason"])
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or ():
            state = cs.get("state") or {}
            for phase in ("waiting", "terminated"):
                detail = state.get(phase)
                if detail and detail.get("reason"):
                    if key == "initContainerStatuses" and detail["reason"] != "Completed":
                        return f"Init:{detail['reason']}"
                    if key == "containerStatuses":
                        return str(detail["reason"])
    if status.get("phase") == "Pending":
        for cond in status.get("conditions") or ():
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return str(cond.get("reason") or "Unschedulable")
    return None


def _owner(meta: Mapping[str, Any]) -> tuple[str | None, str | None]:
    refs = meta.get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if ref is None:
        return None, None
    return ref.get("kind"), ref.get("name")


def workload_of(
    kind: str | None, name: str | None, labels: Mapping[str, str], pod: str
) -> tuple[str, str]:
    """The top-level workload: a ReplicaSet's Deployment (by its pod-template-hash suffix)."""
    if kind is None or name is None:
        return "Pod", pod
    if kind == "ReplicaSet":
        pod_hash = labels.get("pod-template-hash")
        if pod_hash and name.endswith("-" + pod_hash):
            return "Deployment", name[: -len(pod_hash) - 1]
    return kind, name


def pod_row(
    cluster: str, item: Mapping[str, Any], workspaces: Mapping[str, str]
) -> tuple[Any, ...]:
    """One pod as a row of `POD_COLUMNS`; `workspaces` maps its cluster's namespaces to
    workspaces (see `Cluster.workspace_map`)."""
    meta = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    namespace = meta.get("namespace")
    name = meta.get("name")
    labels = meta.get("labels") or {}
    cpu, mem, gpu, mig = pod_requests(spec)
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )
    restarts, last = 0, None
    for cs in status.get("containerStatuses") or ():
        restarts += int(cs.get("restartCount") or 0)
        terminated = (cs.get("lastState") or {}).get("terminated")
        if last is None and terminated:
            last = terminated.get("reason")
    owner_kind, owner_name = _owner(meta)
    workload_kind, workload_name = workload_of(owner_kind, owner_name, labels, str(name))
    return (
        cluster,
        namespace,
        workspaces.get(namespace or ""),
        name,
        status.get("phase"),
        _reason(meta, status),
        ready,
        restarts,
        spec.get("nodeName"),
        cpu,
        int(mem),
        int(gpu),
        int(mig),
        owner_kind,
        owner_name,
        workload_kind,
        workload_name,
        last,
        status.get("startTime"),
        meta.get("creationTimestamp"),
        labels,
        meta.get("annotations") or {},
    )


def pods_frame(
    items: Iterable[tuple[str, Mapping[str, Any]]], workspaces: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """One row per pod; `workspaces` maps cluster -> namespace -> workspace."""
    rows = [pod_row(cluster, item, workspaces.get(cluster, {})) for cluster, item in items]
    return _frame.build(POD_COLUMNS, rows)
