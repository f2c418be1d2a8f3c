"""How each deployment fares over a time range: traffic, errors and latency as its runtime
reports them and as its callers see them, and the DCGM utilisation and memory of the GPUs
its pods hold, joined on pod and node.

A fixed number of metric queries (through the metrics facade, on Prometheus or
ClickHouse), whatever the number of deployments: per-pod request and failure rates and
latency quantiles of each runtime in `_runtimes.RUNTIMES`, and per-GPU DCGM gauges
(utilisation, memory used and free); plus one read of the trace dependencies for the
callers' view. Pods tie metric series to deployments: a runtime's series by its
(namespace, pod), a GPU by its (namespace, pod) and node (``Hostname``); callers' spans by
the service they call, which is the deployment's name. Figures are means over the range
of the per-step values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab import frames
from hxb_lab.cluster import parse_selector, resource
from hxb_lab.errors import HxbLabError
from hxb_lab.inference import _kserve, _seldon
from hxb_lab.inference._kube import serving_items
from hxb_lab.inference._runtimes import RUNTIMES, TRITON_LATENCY
from hxb_lab.inference.deployments import deployments_frame
from hxb_lab.telemetry.metrics import GPU_LABELS
from hxb_lab.warn import warn_user

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.telemetry import Metrics, Traces

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
    ("metrics_source", "str"),
    ("caller_calls", "int64"),
    ("caller_error_rate", "float64"),
    ("caller_p95_ms", "float64"),
)
MIB = 1024 * 1024
Key = tuple[str, str, str]  # cluster, namespace, deployment


@dataclass
class _Figures:
    pods: int = 0
    requests: float = 0.0
    failure: float = 0.0
    sources: set[str] = field(default_factory=set)  # runtimes whose series name its pods
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


def _callers(traces: Traces | None, start: Any, end: Any) -> dict[str, tuple[int, int, float]]:
    """service -> (calls, errors, p95 ms of the slowest caller) from the trace dependencies:
    what the services calling it saw, including calls that never reached it."""
    if traces is None:
        return {}
    try:
        edges = traces.dependencies(start=start, end=end)
    except HxbLabError as exc:
        warn_user(f"the caller_* columns are empty: the traces could not be read: {exc}")
        return {}
    found: dict[str, tuple[int, int, float]] = {}
    for edge in edges.itertuples(index=False):
        calls, errors, p95 = found.get(str(edge.child), (0, 0, float("nan")))
        slowest = max(p95, float(edge.p95_ms)) if p95 == p95 else float(edge.p95_ms)
        found[str(edge.child)] = (calls + int(edge.calls), errors + int(edge.errors), slowest)
    return found


def health_frame(
    clusters: Cluster,
    metrics: Metrics,
    start: Any,
    end: Any,
    namespaces: Sequence[str] | None,
    traces: Traces | None = None,
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

    # Each runtime: per-pod request and failure rates, then latency quantiles (Triton's per
    # model, its series' `model` label; the others' per pod).
    triton_models: dict[tuple[str, str], set[Key]] = defaultdict(set)
    for runtime in RUNTIMES:
        extra = ["model"] if runtime.latency == TRITON_LATENCY else []
        for metric in runtime.requests:
            labels = ("namespace", "pod", *extra)
            found = metrics.query(metric, by=list(labels), agg="sum", rate=True, **window)
            for values, rate in _means(found, labels):
                for key in owners(values[0], values[1]):
                    figures[key].requests += rate
                    figures[key].sources.add(runtime.name)
                    if extra:
                        triton_models[(values[0], values[2])].add(key)
        if runtime.failures is not None:
            where = dict(runtime.failures_where) or None
            found = metrics.query(
                runtime.failures, where=where, by=["namespace", "pod"], agg="sum", rate=True,
                **window,
            )  # fmt: skip
            for (namespace, pod), rate in _means(found, ("namespace", "pod")):
                for key in owners(namespace, pod):
                    figures[key].failure += rate
        if runtime.latency is None:
            continue
        for name in ("p50", "p95"):
            if runtime.latency == TRITON_LATENCY:
                latency = metrics.query(runtime.latency, by=["namespace", "model"], agg=name,
                                        **window)  # fmt: skip
                for (namespace, triton_model), value in _means(latency, ("namespace", "model")):
                    for key in triton_models.get((namespace, triton_model), ()):
                        getattr(figures[key], name).append(value * runtime.latency_ms)
                continue
            latency = metrics.query(runtime.latency, by=["namespace", "pod"], agg=name, **window)
            for (namespace, pod), value in _means(latency, ("namespace", "pod")):
                for key in owners(namespace, pod):
                    getattr(figures[key], name).append(value * runtime.latency_ms)

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
    callers = _callers(traces, start, end)
    rows = []
    for d in deployments.itertuples(index=False):
        f = figures.get((d.cluster, d.namespace, d.name), _Figures())
        seen = bool(f.sources)
        calls, errors, caller_p95 = callers.get(d.name, (0, 0, nan))
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
                f.requests if seen else nan,
                (f.failure / f.requests if f.requests else 0.0) if seen else nan,
                sum(f.p50) / len(f.p50) if f.p50 else nan,
                sum(f.p95) / len(f.p95) if f.p95 else nan,
                sum(f.util) / len(f.util) if f.util else nan,
                f.memory if f.gpus else nan,
                _share(f),
                ", ".join(sorted(f.sources)),
                calls,
                errors / calls if calls else nan,
                caller_p95,
            )
        )
    return frames.build(HEALTH_COLUMNS, rows)
