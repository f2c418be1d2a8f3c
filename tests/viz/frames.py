"""Hand-built frames with the documented columns of the domain reads, for figure tests.

Each builder returns what a user would get from the read named in its docstring, small
enough that a test can state the expected geometry by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EVIL = "<img src=x onerror=alert(1)>"
T0 = pd.Timestamp("2026-11-27 08:00:00", tz="UTC")


def known_trace(service: str = "api-gateway", attribute: str = "GET /v1/chat") -> pd.DataFrame:
    """`wb.traces.get(trace_id)`: five spans; the model span fails; the feature-store call
    runs in parallel with it, so the critical path is a, b, c, e.
    """
    rows = [
        # span_id, parent, service, operation, kind, offset, duration, self, depth, status
        ("a", "", service, "POST /v1/chat", "Server", 0.0, 100.0, 14.0, 0, "Ok"),
        ("b", "a", "auth", "check token", "Server", 2.0, 10.0, 10.0, 1, "Ok"),
        ("c", "a", "router", "route", "Server", 15.0, 80.0, 6.0, 1, "Ok"),
        ("d", "c", "feature-store", "get features", "Client", 18.0, 8.0, 8.0, 2, "Unset"),
        ("e", "c", "llm-chat", "infer", "Server", 20.0, 70.0, 70.0, 2, "STATUS_CODE_ERROR"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "span_id",
            "parent_span_id",
            "service",
            "operation",
            "kind",
            "offset_ms",
            "duration_ms",
            "self_time_ms",
            "depth",
            "status",
        ],
    )
    frame.insert(5, "start", T0 + pd.to_timedelta(frame["offset_ms"], unit="ms"))
    frame["attributes"] = [{"http.route": attribute, "http.status_code": "200"}] + [{}] * 4
    return frame


def gpu_metrics(hosts: tuple[str, ...] = ("h100-0", "h100-1", "l4-0"), pod: str = "llm-chat-1"):
    """`wb.metrics.gpu_utilization()`: DCGM labels, 4 GPUs per node, 3 samples each.

    GPU g of host h is busy (10 * g + 5 * host index) percent on average.
    """
    rows = []
    for h, host in enumerate(hosts):
        product = "NVIDIA-L4" if host.startswith("l4") else "NVIDIA-H100-80GB-HBM3"
        for g in range(4):
            base = 10.0 * g + 5.0 * h
            for k, delta in enumerate((-1.0, 0.0, 1.0)):
                rows.append(
                    (
                        T0 + pd.Timedelta(minutes=k),
                        base + delta,
                        str(g),
                        product,
                        host,
                        "assistant" if g == 0 else "",
                        pod if g == 0 else "",
                    )
                )
    return pd.DataFrame(
        rows, columns=["timestamp", "value", "gpu", "modelName", "Hostname", "namespace", "pod"]
    )


def allocation(workspace: str = "assistant") -> pd.DataFrame:
    """`wb.cluster.gpu_allocation(by="workload")`."""
    return pd.DataFrame(
        {
            "cluster": ["demo"] * 4,
            "workspace": [workspace, workspace, "search", None],
            "namespace": [workspace, workspace, "search", "kube-system"],
            "workload_kind": ["Deployment"] * 4,
            "workload_name": ["llm-chat", "llm-summarize", "text-embed", "dcgm"],
            "gpu_product": ["NVIDIA-H100-80GB-HBM3"] * 2 + ["NVIDIA-L4", "NVIDIA-L4"],
            "gpus_allocated": [6, 2, 4, 0],
            "gpus_pending": [0, 1, 0, 0],
            "mig_allocated": [0] * 4,
            "pods": [3, 2, 4, 1],
            "share": [6 / 24, 2 / 24, 4 / 24, 0.0],
        }
    )


def inventory() -> pd.DataFrame:
    """`wb.cluster.gpus()` (the columns the figures read)."""
    return pd.DataFrame(
        {
            "cluster": ["demo"] * 3,
            "node": ["h100-0", "h100-1", "l4-0"],
            "product": ["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"],
            "allocatable": [8, 8, 8],
            "requested": [8, 0, 4],
            "free": [0, 8, 4],
        }
    )


def dependencies(caller: str = "api-gateway") -> pd.DataFrame:
    """`wb.traces.dependencies()`."""
    return pd.DataFrame(
        {
            "parent": [caller, caller, "router", "router"],
            "child": ["auth", "router", "llm-chat", "feature-store"],
            "calls": [1000, 1000, 400, 100],
            "errors": [0, 10, 40, 0],
            "p95_ms": [8.0, 240.0, 210.0, 4.0],
        }
    )


def red(service: str = "api-gateway") -> pd.DataFrame:
    """`wb.traces.services()`."""
    return pd.DataFrame(
        {
            "service": [service, "auth", "router", "llm-chat", "feature-store"],
            "calls": [1000, 1000, 1000, 400, 100],
            "errors": [10, 0, 10, 40, 0],
            "error_rate": [0.01, 0.0, 0.01, 0.1, 0.0],
            "p50_ms": [90.0, 4.0, 80.0, 70.0, 2.0],
            "p95_ms": [250.0, 8.0, 240.0, 210.0, 4.0],
            "p99_ms": [400.0, 12.0, 390.0, 350.0, 6.0],
        }
    )


def latencies(n: int = 2000, median_ms: float = 100.0, seed: int = 1) -> pd.DataFrame:
    """`wb.traces.search()`-like: one duration per request, log-normal."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"duration_ms": rng.lognormal(np.log(median_ms), 0.4, n)})


def nodes() -> pd.DataFrame:
    """`wb.cluster.nodes()` (the columns the figures read)."""
    return pd.DataFrame(
        {
            "name": ["cpu-0", "h100-0", "l4-0"],
            "ready": [True, True, False],
            "cpu_allocatable": [31.6, 200.0, 46.0],
            "cpu_requested": [20.0, 150.0, 0.0],
            "gpu_allocatable": [0, 8, 8],
            "gpu_requested": [0, 8, 4],
        }
    )


def demo_dependencies() -> pd.DataFrame:
    """The demo's service map (`hxb-lab demo`, size small): a gateway, a router, 14 models."""
    callees = [
        "aml-graph", "code-assist", "credit-limit", "defect-detect", "feature-store",
        "fraud-score", "image-tagger", "llm-chat", "llm-summarize", "ocr", "query-intent",
        "reranker", "text-embed", "vector-db",
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "parent": ["api-gateway", "api-gateway"] + ["router"] * len(callees),
            "child": ["auth", "router", *callees],
            "calls": [737, 736, 22, 54, 58, 38, 436, 141, 123, 109, 45, 53, 129, 129, 283, 337],
            "errors": [1, 49, 0, 0, 0, 0, 16, 0, 84, 0, 0, 0, 0, 0, 0, 0],
        }
    )


def dense_dependencies(seed: int = 17) -> pd.DataFrame:
    """A denser map: 40 services in 5 tiers, calls that skip tiers, a cycle, long names."""
    rng = np.random.default_rng(seed)
    tiers = [[f"{t}-{'recommendation-' * (i % 3 == 2)}svc-{i:02d}" for i in range(n)]
             for t, n in zip("abcde", (3, 7, 12, 10, 8), strict=True)]  # fmt: skip
    edges = set()
    for upper, tier in enumerate(tiers[1:]):
        for callee in tier:  # every service is called from the tier above, some from further up
            edges.add((str(rng.choice(tiers[upper])), callee))
            if upper and rng.random() < 0.5:
                edges.add((str(rng.choice(tiers[int(rng.integers(0, upper))])), callee))
    edges |= {(tiers[2][0], tiers[1][0]), (tiers[1][0], tiers[2][0])}  # a call back: a cycle
    parent, child = zip(*sorted(edges), strict=True)
    calls = rng.integers(1, 500, len(parent)).astype(float)
    return pd.DataFrame({"parent": parent, "child": child, "calls": calls, "errors": calls // 20})
