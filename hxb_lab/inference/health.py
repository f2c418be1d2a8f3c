"""How each deployment fares over a time range: Triton traffic, errors and latency, and the
DCGM utilisation and memory of the GPUs its pods hold, joined on pod and node.

Seven metric queries in all (through the metrics facade, on Prometheus or ClickHouse), whatever
the number of deployments: per-pod request and failure rates, latency quantiles per
Triton model, and per-GPU DCGM gauges (utilisation, memory used and free). Pods tie
metric series to deployments: a Triton series by its (namespace, pod), a GPU by its
(namespace, pod) and node (``Hostname``).
Figures are means over the range of the per-step values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab import frames
from hxb_lab.cluster import parse_selector, resource
from hxb_lab.inference import _kserve, _seldon
from hxb_lab.inference._kube import serving_items
from hxb_lab.inference.deployments import deployments_frame
from hxb_lab.telemetry.metrics import GPU_LABELS

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.telemetry import Metrics

__all__ = ["HEALTH_COLUMNS", "health_frame"]

HEALTH_COLUMNS: frames.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("kind", "str"),
    ("ready", "bool"),
    ("model_version", "Int64"),
    ("canary_percent", "Int64"),
    ("pods", "int64"),
    ("gpus", "int64"),
    ("request_rate", "float64"),
    ("error_rate", "float64"),
    ("p50_ms", "float64"),
    ("p95_ms", "float64"),
    ("gpu_utilization", "float64"),
    ("gpu_memory_used", "float64"),
    ("gpu_memory_share", "float64"),
)
MIB = 1024 * 1024
HISTOGRAM = "nv_inference_first_response_histogram_ms"
Key = tuple[str, str, str]  # cluster, namespace, deployment


@dataclass
class _Figures:
    pods: int = 0
    success: float = 0.0
    failure: float = 0.0
    seen: bool = False  # any Triton series at all
    p50: list[float] = field(default_factory=list)
    p95: list[float] = field(default_factory=list)
    util: list[float] = field(default_factory=list)
    memory: float = 0.0
    free: dict[str, float] = field(default_factory=dict)  # GPU UUID -> free bytes
    gpus: set[str] = field(default_factory=set)


def _serving_pods(
    clusters: Cluster, deployments: pd.DataFrame
) -> dict[tuple[str, str], list[tuple[Key, str | None]]]:
    """(namespace, pod) -> [(deployment key, node), ...] for the deployments' pods."""

    namespaces = sorted(set(deployments["namespace"]))
    selectors: dict[tuple[str, str], list[tuple[Key, Any]]] = defaultdict(list)
    for source, kind, obj in serving_items(clusters, namespaces):
        text = _kserve.serving_selector(obj) if kind == "kserve" else _seldon.serving_selector(obj)
        key = (source.name, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        selectors[(source.name, key[1])].append((key, parse_selector(text)))
    found: dict[tuple[str, str], list[tuple[Key, str | None]]] = defaultdict(list)
    for source in clusters.sources():
        wanted = sorted({ns for cluster, ns in selectors if cluster == source.name})
        if not wanted:
            continue
        for pod in source.items(resource("pods"), wanted):
            meta = pod.get("metadata") or {}
            namespace = meta.get("namespace", "")
            for key, selector in selectors[(source.name, namespace)]:
                if selector.matches(meta.get("labels")):
                    node = (pod.get("spec") or {}).get("nodeName")
                    found[(namespace, meta.get("name", ""))].append((key, node))
    return found


def _means(frame: pd.DataFrame, labels: Sequence[str]) -> Iterator[tuple[tuple[str, ...], float]]:
    """The time-mean of each series of a tidy metric frame, keyed by `labels`."""
    if frame.empty or any(label not in frame.columns for label in labels):
        return
    grouped = frame.groupby(list(labels), sort=False, dropna=False)["value"].mean()
    for index, value in grouped.items():
        key = index if isinstance(index, tuple) else (index,)
        yield tuple("" if v is None else str(v) for v in key), float(value)


def _share(f: _Figures) -> float:
    """Used memory over the total (used + free) of the deployment's GPUs."""
    total = f.memory + sum(f.free.values())
    return f.memory / total if f.free and total else float("nan")


def health_frame(
    clusters: Cluster,
    metrics: Metrics,
    start: Any,
    end: Any,
    namespaces: Sequence[str] | None,
) -> pd.DataFrame:
    """One row per deployment (see `Inference.health`)."""
    import math

    deployments = deployments_frame(clusters, namespaces)
    if deployments.empty:
        return frames.empty(HEALTH_COLUMNS)
    pods = _serving_pods(clusters, deployments)
    figures: dict[Key, _Figures] = defaultdict(_Figures)
    for held_by in pods.values():
        for key, _ in held_by:
            figures[key].pods += 1
    window = {"start": start, "end": end}

    def owners(namespace: str, pod: str) -> list[Key]:
        return [key for key, _ in pods.get((namespace, pod), ())]

    # Triton: per-pod rates; the Triton model name of each deployment for its latency.
    triton_models: dict[tuple[str, str], set[Key]] = defaultdict(set)
    success = metrics.query(
        "nv_inference_request_success", by=["namespace", "pod", "model"], agg="sum", rate=True,
        **window,
    )  # fmt: skip
    for (namespace, pod, model), rate in _means(success, ("namespace", "pod", "model")):
        for key in owners(namespace, pod):
            figures[key].success += rate
            figures[key].seen = True
            triton_models[(namespace, model)].add(key)
    failure = metrics.query(
        "nv_inference_request_failure", by=["namespace", "pod"], agg="sum", rate=True, **window
    )
    for (namespace, pod), rate in _means(failure, ("namespace", "pod")):
        for key in owners(namespace, pod):
            figures[key].failure += rate
            figures[key].seen = True
    for name, agg in (("p50", "p50"), ("p95", "p95")):
        latency = metrics.query(HISTOGRAM, by=["namespace", "model"], agg=agg, **window)
        for (namespace, model), value in _means(latency, ("namespace", "model")):
            for key in triton_models.get((namespace, model), ()):
                getattr(figures[key], name).append(value)

    # DCGM: a GPU counts for a deployment when its pod and node are the deployment's.
    def gpu_rows(frame: pd.DataFrame) -> Iterator[tuple[Key, str, float]]:
        labels = ("namespace", "pod", "Hostname", "UUID")
        for (namespace, pod, node, uuid), value in _means(frame, labels):
            for key, pod_node in pods.get((namespace, pod), ()):
                if pod_node is None or pod_node == node:
                    yield key, uuid, value

    for key, uuid, value in gpu_rows(metrics.gpu_utilization(**window)):
        figures[key].util.append(value)
        figures[key].gpus.add(uuid)
    for key, uuid, value in gpu_rows(metrics.gpu_memory(**window)):
        figures[key].memory += value
        figures[key].gpus.add(uuid)
    free = metrics.query("DCGM_FI_DEV_FB_FREE", by=list(GPU_LABELS), agg="avg", **window)
    for key, uuid, value in gpu_rows(free):
        figures[key].free[uuid] = value * MIB

    nan = math.nan
    rows = []
    for d in deployments.itertuples(index=False):
        f = figures.get((d.cluster, d.namespace, d.name), _Figures())
        total = f.success + f.failure
        rows.append(
            (
                d.cluster,
                d.namespace,
                d.workspace,
                d.name,
                d.kind,
                d.ready,
                d.model_version,
                d.canary_percent,
                f.pods,
                len(f.gpus),
                total if f.seen else nan,
                (f.failure / total if total else 0.0) if f.seen else nan,
                sum(f.p50) / len(f.p50) if f.p50 else nan,
                sum(f.p95) / len(f.p95) if f.p95 else nan,
                sum(f.util) / len(f.util) if f.util else nan,
                f.memory if f.gpus else nan,
                _share(f),
            )
        )
    return frames.build(HEALTH_COLUMNS, rows)
