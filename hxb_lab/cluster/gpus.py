"""GPU inventory and allocation, from GPU Feature Discovery labels, the `nvidia.com/gpu`
extended resource (and `nvidia.com/mig-*` under the mixed MIG strategy) and pod requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster._quantities import quantity
from hxb_lab.cluster.nodes import POOL_LABELS, Usage, first_label, is_ready
from hxb_lab.cluster.pods import GPU, MIG_PREFIX
from hxb_lab.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALLOCATION_KEYS",
    "GPU_COLUMNS",
    "IDLE_BELOW_PCT",
    "gpu_allocation_frame",
    "gpus_frame",
]

#: Mean DCGM utilisation (%) over a range under which an allocated GPU counts as idle:
#: held by a pod, doing (almost) nothing. The gpus view, notebook 02 and the
#: gpu-capacity-report runbook all start from it.
IDLE_BELOW_PCT = 25

GPU_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("node", "str"),
    ("pool", "str"),
    ("ready", "bool"),
    ("unschedulable", "bool"),
    ("product", "str"),
    ("memory_mb", "float64"),
    ("gpu_count", "int64"),
    ("capacity", "int64"),
    ("allocatable", "int64"),
    ("requested", "int64"),
    ("free", "int64"),
    ("mig_strategy", "str"),
    ("mig_devices", "int64"),
    ("mig_requested", "int64"),
    ("mig_profiles", "str"),
    ("driver_version", "str"),
    ("cuda_version", "str"),
)

#: gpu_allocation(by=...) -> the key columns of its rows.
ALLOCATION_KEYS: dict[str, tuple[str, ...]] = {
    "workspace": ("cluster", "workspace"),
    "namespace": ("cluster", "namespace", "workspace"),
    "workload": ("cluster", "namespace", "workspace", "workload_kind", "workload_name"),
    "pod": (
        "cluster",
        "namespace",
        "workspace",
        "workload_kind",
        "workload_name",
        "pod",
        "node",
        "phase",
    ),
}
ALLOCATION_VALUES: _frame.Schema = (
    ("gpu_product", "str"),
    ("gpus_allocated", "int64"),
    ("gpus_pending", "int64"),
    ("mig_allocated", "int64"),
    ("pods", "int64"),
    ("share", "float64"),
)


def gpu_row(cluster: str, item: Mapping[str, Any], used: Usage) -> tuple[Any, ...] | None:
    meta = item.get("metadata") or {}
    status = item.get("status") or {}
    labels = meta.get("labels") or {}
    capacity = status.get("capacity") or {}
    allocatable = status.get("allocatable") or {}
    migs = {
        k.removeprefix(MIG_PREFIX): int(quantity(v))
        for k, v in capacity.items()
        if k.startswith(MIG_PREFIX)
    }
    count = labels.get("nvidia.com/gpu.count")
    gpu_capacity = int(quantity(capacity.get(GPU)))
    if not (count and int(count)) and not gpu_capacity and not migs:
        return None
    alloc = int(quantity(allocatable.get(GPU)))
    memory = labels.get("nvidia.com/gpu.memory")
    profiles = ", ".join(f"{name}={n}" for name, n in sorted(migs.items()))
    driver = labels.get("nvidia.com/cuda.driver-version.full") or labels.get(
        "nvidia.com/cuda.driver.major"
    )
    cuda = labels.get("nvidia.com/cuda.runtime-version.full") or labels.get(
        "nvidia.com/cuda.runtime.major"
    )
    return (
        cluster,
        meta.get("name"),
        first_label(labels, POOL_LABELS),
        is_ready(status),
        bool((item.get("spec") or {}).get("unschedulable")),
        labels.get("nvidia.com/gpu.product"),
        float(memory) if memory else float("nan"),
        int(count) if count else gpu_capacity,
        gpu_capacity,
        alloc,
        int(used.gpu),
        alloc - int(used.gpu),
        labels.get("nvidia.com/mig.strategy"),
        sum(migs.values()),
        int(sum(used.mig.values())),
        profiles or None,
        driver,
        cuda,
    )


def gpus_frame(
    nodes: Iterable[tuple[str, Mapping[str, Any]]], usage: Mapping[tuple[str, str], Usage]
) -> pd.DataFrame:
    rows = []
    for cluster, item in nodes:
        name = (item.get("metadata") or {}).get("name")
        row = gpu_row(cluster, item, usage.get((cluster, str(name))) or Usage())
        if row is not None:
            rows.append(row)
    return _frame.build(GPU_COLUMNS, rows)


def gpu_allocation_frame(by: str, pods: pd.DataFrame, gpus: pd.DataFrame) -> pd.DataFrame:
    """GPUs held (bound, not finished) and wanted (pending) per `by`, from the two frames."""
    import pandas as pd

    if by not in ALLOCATION_KEYS:
        raise ParameterError([f"by: {by!r} is not one of {', '.join(ALLOCATION_KEYS)}"])
    keys = list(ALLOCATION_KEYS[by])
    schema = [(k, "str") for k in keys] + list(ALLOCATION_VALUES)
    live = pods[~pods["phase"].isin(["Succeeded", "Failed"])]
    live = live[(live["gpu_requests"] > 0) | (live["mig_requests"] > 0)]
    if live.empty:
        return _frame.empty(schema)
    products = gpus.set_index(["cluster", "node"])["product"]
    frame = live.rename(columns={"name": "pod"}).copy()
    index = pd.MultiIndex.from_arrays([frame["cluster"], frame["node"].fillna("")])
    frame["gpu_product"] = products.reindex(index).to_numpy()
    bound = frame["node"].notna()
    frame["gpus_allocated"] = frame["gpu_requests"].where(bound, 0)
    frame["gpus_pending"] = frame["gpu_requests"].where(~bound, 0)
    frame["mig_allocated"] = frame["mig_requests"].where(bound, 0)
    frame["pods"] = 1
    for key in keys:  # group keys must not be NaN, or groupby drops the rows
        frame[key] = frame[key].fillna("")
    grouped = (
        frame.groupby(keys, sort=False)
        .agg(
            gpu_product=("gpu_product", lambda s: ", ".join(sorted(set(s.dropna()))) or None),
            gpus_allocated=("gpus_allocated", "sum"),
            gpus_pending=("gpus_pending", "sum"),
            mig_allocated=("mig_allocated", "sum"),
            pods=("pods", "sum"),
        )
        .reset_index()
    )
    totals = gpus.groupby("cluster")["allocatable"].sum()
    denominator = grouped["cluster"].map(totals).astype("float64")
    grouped["share"] = (grouped["gpus_allocated"] / denominator).fillna(0.0)
    for key in keys:
        grouped[key] = grouped[key].replace("", None)
    grouped = grouped.sort_values(
        ["gpus_allocated", "gpus_pending", *keys], ascending=[False, False, *[True] * len(keys)]
    ).reset_index(drop=True)
    rows = list(grouped[[name for name, _ in schema]].itertuples(index=False, name=None))
    return _frame.build(schema, rows)
