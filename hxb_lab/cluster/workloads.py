"""Workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) as rows, with their
health and what each replica requests.

A CronJob holds nothing itself: the Jobs it creates have rows of their own (owner_kind
``CronJob``), so its counts are its active Jobs only and its ``gpus_total`` is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster.pods import pod_requests

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WORKLOAD_COLUMNS", "WORKLOAD_KINDS", "workloads_frame"]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

WORKLOAD_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("kind", "str"),
    ("name", "str"),
    ("status", "str"),
    ("desired", "int64"),
    ("ready", "int64"),
    ("available", "int64"),
    ("updated", "int64"),
    ("cpu_requests", "float64"),
    ("memory_requests", "int64"),
    ("gpu_requests", "int64"),
    ("gpus_total", "int64"),
    ("images", "str"),
    ("owner_kind", "str"),
    ("owner_name", "str"),
    ("schedule", "str"),
    ("last_schedule", _frame.TIMESTAMP),
    ("created", _frame.TIMESTAMP),
)


def _counts(kind: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[int, ...]:
    """(desired, ready, available, updated) in each kind's own terms."""
    if kind == "DaemonSet":
        return (
            int(status.get("desiredNumberScheduled") or 0),
            int(status.get("numberReady") or 0),
            int(status.get("numberAvailable") or 0),
            int(status.get("updatedNumberScheduled") or 0),
        )
    if kind == "Job":
        desired = int(spec.get("completions") or spec.get("parallelism") or 1)
        return (
            desired,
            int(status.get("ready") or 0),
            int(status.get("active") or 0),
            int(status.get("succeeded") or 0),
        )
    if kind == "CronJob":
        return (0, 0, len(status.get("active") or ()), 0)
    replicas = spec.get("replicas")
    return (
        1 if replicas is None else int(replicas),
        int(status.get("readyReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        int(status.get("updatedReplicas") or 0),
    )


def _status(
    kind: str, spec: Mapping[str, Any], status: Mapping[str, Any], counts: tuple[int, ...]
) -> str:
    conditions = {c.get("type"): c for c in status.get("conditions") or ()}
    if kind == "Job":
        for state in ("Complete", "Failed", "Suspended"):
            if (conditions.get(state) or {}).get("status") == "True":
                return state
        return "Running" if status.get("active") else "Pending"
    if kind == "CronJob":
        if spec.get("suspend"):
            return "Suspended"
        return "Active" if status.get("active") else "Scheduled"
    desired, ready = counts[0], counts[1]
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return "Stalled"
    if desired == 0:
        return "ScaledDown"
    if ready >= desired:
        return "Ready"
    return "Unavailable" if ready == 0 else "Degraded"


def _schedule(spec: Mapping[str, Any]) -> str | None:
    """A CronJob's schedule, with its time zone the way cron writes it (``CRON_TZ=...``)."""
    cron, zone = spec.get("schedule"), spec.get("timeZone")
    return f"CRON_TZ={zone} {cron}" if cron and zone else cron


def workload_row(
    cluster: str, kind: str, item: Mapping[str, Any], workspaces: Mapping[str, str]
) -> tuple[Any, ...]:
    meta = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    template = spec.get("template")
    if kind == "CronJob":  # the pods of the Jobs it creates
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    pod_spec = (template or {}).get("spec") or {}
    cpu, mem, gpu, _ = pod_requests(pod_spec)
    counts = _counts(kind, spec, status)
    refs = meta.get("ownerReferences") or []
    owner = next((r for r in refs if r.get("controller")), refs[0] if refs else {})
    images = ", ".join(c.get("image", "") for c in pod_spec.get("containers") or ())
    namespace = meta.get("namespace")
    return (
        cluster,
        namespace,
        workspaces.get(namespace or ""),
        kind,
        meta.get("name"),
        _status(kind, spec, status, counts),
        *counts,
        cpu,
        int(mem),
        int(gpu),
        int(gpu) * counts[0],
        images,
        owner.get("kind"),
        owner.get("name"),
        _schedule(spec) if kind == "CronJob" else None,
        status.get("lastScheduleTime") if kind == "CronJob" else None,
        meta.get("creationTimestamp"),
    )


def workloads_frame(
    items: Iterable[tuple[str, str, Mapping[str, Any]]],
    workspaces: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    """`items` are (cluster, kind, object)."""
    rows = [
        workload_row(cluster, kind, item, workspaces.get(cluster, {}))
        for cluster, kind, item in items
    ]
    return _frame.build(WORKLOAD_COLUMNS, rows)
