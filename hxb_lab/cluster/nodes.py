"""Nodes as rows: readiness, pool, capacity and what the pods bound to them request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity
from hxb_lab.cluster.pods import GPU, MIG_PREFIX, TERMINAL, pod_requests

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NODE_COLUMNS", "Usage", "node_usage", "nodes_frame"]

#: Node-pool labels of the common distributions, most specific first.
POOL_LABELS = (
    "hxb.io/pool",
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "kubernetes.azure.com/agentpool",
    "node.kubernetes.io/pool",
    "agentpool",
    "nodepool",
)
INSTANCE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
ROLE_PREFIX = "node-role.kubernetes.io/"

NODE_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("name", "str"),
    ("ready", "bool"),
    ("unschedulable", "bool"),
    ("roles", "str"),
    ("pool", "str"),
    ("instance_type", "str"),
    ("zone", "str"),
    ("cpu_capacity", "float64"),
    ("cpu_allocatable", "float64"),
    ("cpu_requested", "float64"),
    ("memory_capacity", "int64"),
    ("memory_allocatable", "int64"),
    ("memory_requested", "int64"),
    ("gpu_product", "str"),
    ("gpu_memory_mb", "float64"),
    ("gpu_capacity", "int64"),
    ("gpu_allocatable", "int64"),
    ("gpu_requested", "int64"),
    ("gpu_free", "int64"),
    ("pods", "int64"),
    ("taints", "str"),
    ("kubelet_version", "str"),
    ("container_runtime", "str"),
    ("created", _frame.TIMESTAMP),
    ("age", "timedelta64[ns]"),
)


@dataclass
class Usage:
    """What the non-terminated pods bound to one node request."""

    cpu: float = 0.0
    memory: float = 0.0
    gpu: float = 0.0
    pods: int = 0
    mig: dict[str, float] = field(default_factory=dict)


def node_usage(pods: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], Usage]:
    """(cluster, node) -> requests of its pods that are neither Succeeded nor Failed."""
    usage: dict[tuple[str, str], Usage] = {}
    for cluster, pod in pods:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in TERMINAL:
            continue
        entry = usage.setdefault((cluster, node), Usage())
        cpu, mem, gpu, mig = pod_requests(spec)
        entry.cpu += cpu
        entry.memory += mem
        entry.gpu += gpu
        entry.pods += 1
        if mig:
            for container in spec.get("containers") or ():
                resources = container.get("resources") or {}
                wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
                for key, value in wanted.items():
                    if key.startswith(MIG_PREFIX):
                        profile = key.removeprefix(MIG_PREFIX)
                        entry.mig[profile] = entry.mig.get(profile, 0.0) + quantity(value)
    return usage


def first_label(labels: Mapping[str, str], keys: Iterable[str]) -> str | None:
    return next((labels[k] for k in keys if labels.get(k)), None)


def is_ready(status: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


def _taint(t: Mapping[str, Any]) -> str:
    value = f"={t['value']}" if t.get("value") else ""
    return f"{t.get('key')}{value}:{t.get('effect')}"


def _roles(labels: Mapping[str, str]) -> str:
    roles = sorted(k.removeprefix(ROLE_PREFIX) for k in labels if k.startswith(ROLE_PREFIX))
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    return ",".join(dict.fromkeys(roles))


def node_row(cluster: str, item: Mapping[str, Any], used: Usage) -> tuple[Any, ...]:
    meta = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    labels = meta.get("labels") or {}
    capacity = status.get("capacity") or {}
    allocatable = status.get("allocatable") or {}
    info = status.get("nodeInfo") or {}
    gpu_alloc = int(quantity(allocatable.get(GPU)))
    memory_mb = labels.get("nvidia.com/gpu.memory")
    return (
        cluster,
        meta.get("name"),
        is_ready(status),
        bool(spec.get("unschedulable")),
        _roles(labels),
        first_label(labels, POOL_LABELS),
        first_label(labels, INSTANCE_LABELS),
        first_label(labels, ZONE_LABELS),
        quantity(capacity.get("cpu")),
        quantity(allocatable.get("cpu")),
        used.cpu,
        int(quantity(capacity.get("memory"))),
        int(quantity(allocatable.get("memory"))),
        int(used.memory),
        labels.get("nvidia.com/gpu.product"),
        float(memory_mb) if memory_mb else float("nan"),
        int(quantity(capacity.get(GPU))),
        gpu_alloc,
        int(used.gpu),
        gpu_alloc - int(used.gpu),
        used.pods,
        ", ".join(_taint(t) for t in spec.get("taints") or ()),
        info.get("kubeletVersion"),
        info.get("containerRuntimeVersion"),
        meta.get("creationTimestamp"),
        None,
    )


def nodes_frame(
    nodes: Iterable[tuple[str, Mapping[str, Any]]],
    usage: Mapping[tuple[str, str], Usage],
    now: datetime,
) -> pd.DataFrame:
    rows = [
        node_row(
            cluster,
            item,
            usage.get((cluster, str((item.get("metadata") or {}).get("name")))) or Usage(),
        )
        for cluster, item in nodes
    ]
    frame = _frame.build(NODE_COLUMNS, rows)
    frame["age"] = (now - frame["created"]).astype("timedelta64[ns]")
    return frame
