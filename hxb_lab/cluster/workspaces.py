"""Workspaces: tenants as labelled namespaces, with what their pods request and their quota."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity
from hxb_lab.cluster.pods import TERMINAL, pod_requests

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WORKSPACE_COLUMNS", "workspace_map", "workspaces_frame"]

WORKSPACE_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("workspace", "str"),
    ("namespaces", "str"),
    ("pods", "int64"),
    ("running", "int64"),
    ("pending", "int64"),
    ("cpu_requested", "float64"),
    ("memory_requested", "int64"),
    ("gpu_requested", "int64"),
    ("quota_cpu_hard", "float64"),
    ("quota_cpu_used", "float64"),
    ("quota_memory_hard", "float64"),
    ("quota_memory_used", "float64"),
    ("quota_gpu_hard", "float64"),
    ("quota_gpu_used", "float64"),
    ("quota_pods_hard", "float64"),
    ("quota_pods_used", "float64"),
    ("created", _frame.TIMESTAMP),
)

#: quota column -> the ResourceQuota keys that limit it (the first one present counts).
QUOTA_KEYS = {
    "cpu": ("requests.cpu", "cpu"),
    "memory": ("requests.memory", "memory"),
    "gpu": ("requests.nvidia.com/gpu",),
    "pods": ("pods",),
}


def workspace_map(
    namespaces: Iterable[tuple[str, Mapping[str, Any]]], label: str
) -> dict[str, dict[str, str]]:
    """cluster -> namespace -> workspace, from the namespaces' `label`."""
    found: dict[str, dict[str, str]] = {}
    for cluster, ns in namespaces:
        meta = ns.get("metadata") or {}
        value = (meta.get("labels") or {}).get(label)
        found.setdefault(cluster, {})
        if value:
            found[cluster][meta.get("name", "")] = value
    return found


@dataclass
class _Workspace:
    namespaces: list[str] = field(default_factory=list)
    created: str | None = None
    pods: int = 0
    running: int = 0
    pending: int = 0
    cpu: float = 0.0
    memory: float = 0.0
    gpu: float = 0.0
    hard: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)


def workspaces_frame(
    namespaces: Iterable[tuple[str, Mapping[str, Any]]],
    pods: Iterable[tuple[str, Mapping[str, Any]]],
    quotas: Iterable[tuple[str, Mapping[str, Any]]],
    label: str,
) -> pd.DataFrame:
    spaces: dict[tuple[str, str], _Workspace] = {}
    owner: dict[tuple[str, str], _Workspace] = {}
    for cluster, ns in namespaces:
        meta = ns.get("metadata") or {}
        name = (meta.get("labels") or {}).get(label)
        if not name:
            continue
        ws = spaces.setdefault((cluster, name), _Workspace())
        ws.namespaces.append(meta.get("name", ""))
        created = meta.get("creationTimestamp")
        if created and (ws.created is None or created < ws.created):
            ws.created = created
        owner[(cluster, meta.get("name", ""))] = ws
    for cluster, pod in pods:
        of_pod = owner.get((cluster, (pod.get("metadata") or {}).get("namespace", "")))
        phase = (pod.get("status") or {}).get("phase")
        if of_pod is None or phase in TERMINAL:
            continue
        cpu, mem, gpu, _ = pod_requests(pod.get("spec") or {})
        of_pod.pods += 1
        of_pod.running += phase == "Running"
        of_pod.pending += phase == "Pending"
        of_pod.cpu += cpu
        of_pod.memory += mem
        of_pod.gpu += gpu
    for cluster, quota in quotas:
        of_quota = owner.get((cluster, (quota.get("metadata") or {}).get("namespace", "")))
        if of_quota is None:
            continue
        status = quota.get("status") or {}
        hard = status.get("hard") or (quota.get("spec") or {}).get("hard") or {}
        used = status.get("used") or {}
        for column, keys in QUOTA_KEYS.items():
            key = next((k for k in keys if k in hard), None)
            if key is not None:
                of_quota.hard[column] = of_quota.hard.get(column, 0.0) + quantity(hard[key])
                of_quota.used[column] = of_quota.used.get(column, 0.0) + quantity(used.get(key))
    nan = float("nan")
    rows = []
    for (cluster, name), ws in sorted(spaces.items()):
        limits: list[float] = []
        for column in QUOTA_KEYS:
            limits += [ws.hard.get(column, nan), ws.used.get(column, nan)]
        rows.append(
            (
                cluster,
                name,
                ", ".join(sorted(ws.namespaces)),
                ws.pods,
                ws.running,
                ws.pending,
                ws.cpu,
                int(ws.memory),
                int(ws.gpu),
                *limits,
                ws.created,
            )
        )
    return _frame.build(WORKSPACE_COLUMNS, rows)
