"""`StaticBench`: a stand-in workbench serving fixed frames with the documented columns.

It stands in for the layers whose reads are not in the tree yet (and for a platform whose
every string is hostile, `StaticBench(evil=True)`); views under test cannot tell it from
`hx.connect()`. It records the actions it was asked for, and can be told to fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from hxb_lab.cluster.history import history_frame
from hxb_lab.errors import HxbLabError
from tests.viz import frames as F

NOW = F.T0.to_pydatetime()


@dataclass
class Change:
    """What an inference action returns: a readable diff plus the patch."""

    diff: str
    patch: dict[str, Any]
    applied: bool


@dataclass
class Profile:
    name: str = "static"
    jaeger: Any = None  # no Jaeger UI or Grafana to link traces to
    grafana: Any = None


class _Part:
    def __init__(self, bench: StaticBench) -> None:
        self.b = bench

    def _maybe_fail(self, what: str) -> None:
        failure = self.b.failures.get(what)
        if failure is not None:
            raise failure


class _Cluster(_Part):
    def history(self, **_range: Any) -> pd.DataFrame:
        """One rollout half an hour before NOW (its names hostile with `evil=True`)."""
        self._maybe_fail("history")
        when = int(pd.Timestamp(NOW).value) - 30 * 60 * 10**9
        row = (when, "static", "Deployment", "serving", self.b.text("web"), "MODIFIED")
        summary = self.b.text("spec.template.spec.containers[main].image: v1 -> v2")
        diff = '{"spec.template.spec.containers[main].image": ["v1", "v2"]}'
        return history_frame([(*row, "rollout", self.b.text("kubectl"), summary, diff, "42")])

    def nodes(self) -> pd.DataFrame:
        frame = F.nodes()
        frame["cluster"] = "static"
        frame["name"] = ["cpu-0", "h100-0", self.b.text("l4-0")]
        frame["unschedulable"] = [False, False, True]
        frame["pool"] = ["cpu", "h100", "l4"]
        frame["gpu_product"] = [None, "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"]
        frame["gpu_free"] = frame["gpu_allocatable"] - frame["gpu_requested"]
        frame["pods"] = [2, 2, 1]
        frame["taints"] = ["", "", self.b.text("node.kubernetes.io/unreachable:NoExecute")]
        frame["age"] = pd.to_timedelta([10, 20, 30], unit="D")
        return frame

    def pods(self, namespace: Any = None, selector: Any = None, workspace: Any = None):
        self._maybe_fail("pods")
        evil = self.b.text("llm-chat-1")
        frame = pd.DataFrame(
            {
                "cluster": "static",
                "namespace": ["kube-system", "assistant", "assistant", "search", "search"],
                "workspace": [None, "assistant", "assistant", "search", "search"],
                "name": ["dcgm-1", evil, "llm-chat-2", "text-embed-1", "notebook-0"],
                "phase": ["Running", "Running", "Running", "Running", "Pending"],
                "reason": [None, None, None, "CrashLoopBackOff", "Unschedulable"],
                "ready": [True, True, True, False, False],
                "restarts": [0, 0, 1, 7, 0],
                "node": ["cpu-0", "h100-0", "h100-0", self.b.text("l4-0"), None],
                "cpu_requests": [0.1, 8.0, 8.0, 4.0, 2.0],
                "gpu_requests": [0, 4, 4, 4, 1],
                "workload_kind": ["DaemonSet", "Deployment", "Deployment", "Deployment", None],
                "workload_name": ["dcgm", "llm-chat", "llm-chat", "text-embed", None],
                "annotations": [{}, {"note": self.b.text("owned by ml")}, {}, {}, {}],
                "started": pd.to_datetime([F.T0] * 5),
            }
        )
        if workspace is not None:
            frame = frame[frame["workspace"] == workspace]
        return frame

    def events(self, since: Any = None, namespace: Any = None, warnings_only: bool = False):
        return pd.DataFrame(
            {
                "time": [F.T0],
                "namespace": ["search"],
                "type": ["Warning"],
                "reason": ["BackOff"],
                "object_kind": ["Pod"],
                "object_name": ["text-embed-1"],
                "message": [self.b.text("Back-off restarting failed container")],
                "count": [12],
            }
        )

    def gpus(self) -> pd.DataFrame:
        return F.inventory()

    def gpu_allocation(self, by: str = "workspace") -> pd.DataFrame:
        if by == "pod":
            return pd.DataFrame(
                {
                    "workspace": [self.b.text("assistant"), self.b.text("assistant"), "search"],
                    "namespace": ["assistant", "assistant", "search"],
                    "workload_name": ["llm-chat", "llm-chat", "text-embed"],
                    "pod": [self.b.text("llm-chat-1"), "llm-chat-2", "text-embed-1"],
                    "node": ["h100-0", "h100-0", "l4-0"],
                    "phase": ["Running"] * 3,
                    "gpu_product": ["NVIDIA-H100-80GB-HBM3"] * 2 + ["NVIDIA-L4"],
                    "gpus_allocated": [4, 4, 4],
                }
            )
        return F.allocation(self.b.text("assistant"))

    def watch(self, kind: str, **kwargs: Any):
        yield from self.b.changes


class _Metrics(_Part):
    def _series(self, labels: list[dict[str, str]], base: float, start: Any, end: Any):
        times = pd.date_range(end=F.T0, periods=60, freq="min", tz="UTC")
        return pd.concat(
            [
                pd.DataFrame({"timestamp": times, "value": base + i + np.arange(60) % 7, **lab})
                for i, lab in enumerate(labels)
            ],
            ignore_index=True,
        )

    def gpu_utilization(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        self._maybe_fail("gpu_utilization")
        frame = F.gpu_metrics(pod=self.b.text("llm-chat-1"))
        on_l4 = (frame["Hostname"] == "l4-0") & (frame["gpu"] == "0")
        frame.loc[on_l4, ["namespace", "pod"]] = ["search", "text-embed-1"]
        return frame

    def gpu_memory(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        frame = self.gpu_utilization(start, end)
        frame["value"] = frame["value"] * 800
        return frame

    def inference_latency(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        models = [{"model": self.b.text("llm-chat")}, {"model": "text-embed"}]
        return self._series(models, 180.0, start, end)

    def inference_throughput(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        models = [{"model": self.b.text("llm-chat")}, {"model": "text-embed"}]
        return self._series(models, 40.0, start, end)

    def query(self, metric: str, **kwargs: Any) -> pd.DataFrame:
        self.b.queries.append({"metric": metric, **kwargs})
        by = kwargs.get("by") or ["Hostname"]
        n = self.b.series
        labels = [{label: self.b.text(f"{label}-{i}") for label in by} for i in range(n)]
        return self._series(labels, 10.0, kwargs.get("start"), kwargs.get("end"))

    def promql(self, expr: str, start: Any = None, end: Any = None, step: Any = None):
        self.b.queries.append({"promql": expr, "step": step})
        return self._series([{"job": "dcgm"}], 1.0, start, end)


class _Traces(_Part):
    def services(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        self._maybe_fail("services")
        return F.red(self.b.text("api-gateway"))

    def search(self, service=None, status=None, start=None, end=None, limit=100, **kw):
        self.b.searches.append({"service": service, "status": status})
        n = 3 if status == "error" else 6
        return pd.DataFrame(
            {
                "trace_id": [f"t{i}{'e' if status else ''}" for i in range(n)],
                "root_service": service,
                "root_operation": "POST /v1/chat",
                "start": pd.date_range(end=F.T0, periods=n, freq="min"),
                "duration_ms": [100.0 + 10 * i for i in range(n)],
                "spans": 5,
                "errors": [1 if status else 0] * n,
                "services": [["api-gateway", "router"]] * n,
            }
        )

    def get(self, trace_id: str) -> pd.DataFrame:
        return F.known_trace(attribute=self.b.text("GET /v1/chat"))

    def critical_path(self, trace_id: str) -> pd.DataFrame:
        spans = self.get(trace_id)
        return spans[spans["span_id"].isin(["a", "c", "e"])]

    def dependencies(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        return F.dependencies(self.b.text("api-gateway"))


class _Logs(_Part):
    def search(self, trace_id=None, start=None, end=None, limit=100, **kw) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "timestamp": [F.T0],
                "severity": ["ERROR"],
                "service": ["llm-chat"],
                "body": [self.b.text("inference failed: CUDA out of memory")],
                "trace_id": [trace_id],
                "span_id": ["e"],
            }
        )


class _Inference(_Part):
    def deployments(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "cluster": "static",
                "namespace": ["assistant", "search"],
                "workspace": ["assistant", "search"],
                "name": [self.b.text("llm-chat"), "text-embed"],
                "kind": ["kserve", "kserve"],
                "ready": [True, False],
                "reason": [None, self.b.text("ModelLoadFailed")],
                "storage_uri": ["s3://models/llm-chat/7", "s3://models/text-embed/5"],
                "model_name": ["llm-chat", "text-embed"],
                "model_version": ["7", "5"],
                "min_replicas": [1, 1],
                "max_replicas": [3, 4],
                "replicas": [3, 4],
                "gpus_per_replica": [2, 1],
                "gpu_product": ["NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"],
                "canary_percent": [20.0, np.nan],
                "latest_ready_revision": ["llm-chat-predictor-00008", "text-embed-00005"],
                "previous_revision": ["llm-chat-predictor-00007", None],
            }
        )

    def health(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "name": [self.b.text("llm-chat")],
                "request_rate": [42.5],
                "error_rate": [0.012],
                "p50_ms": [181.0],
                "p95_ms": [402.0],
                "gpu_utilization": [77.0],
                "gpu_memory_used": [70.0 * 2**30],
                "gpu_memory_share": [0.44],
                "metrics_source": ["triton"],
                "caller_calls": [1200],
                "caller_error_rate": [0.25],
                "caller_p95_ms": [410.0],
            }
        )

    def pods(self, name: str, namespace: str | None = None) -> pd.DataFrame:
        return pd.DataFrame({"name": [self.b.text("llm-chat-1")], "node": ["h100-0"]})

    def _act(self, action: str, name: str, apply: bool, **kwargs: Any) -> Change:
        self._maybe_fail(action)
        patch = {"spec": {"predictor": {k: v for k, v in kwargs.items() if k != "namespace"}}}
        self.b.actions.append((action, name, apply, kwargs))
        diff = f"--- {name}\n+++ {name}\n" + "".join(f"+ {k}: {v}\n" for k, v in kwargs.items())
        return Change(diff=diff, patch=patch, applied=apply)

    def scale(self, name, min_replicas=None, max_replicas=None, *, apply=False, namespace=None):
        return self._act("scale", name, apply, min_replicas=min_replicas,
                         max_replicas=max_replicas, namespace=namespace)  # fmt: skip

    def canary(self, name, storage_uri=None, percent=10, *, apply=False, namespace=None):
        return self._act(
            "canary", name, apply, storage_uri=storage_uri, percent=percent, namespace=namespace
        )

    def promote(self, name, *, apply=False):
        return self._act("promote", name, apply)

    def rollback(self, name, *, apply=False):
        return self._act("rollback", name, apply)

    def promote_from_registry(self, name, model, alias="champion", *, apply=False):
        return self._act("promote_from_registry", name, apply, model=model, alias=alias)


@dataclass
class StaticBench:
    """Fixed frames behind the facades the views read; `evil=True` puts hostile HTML into
    names, a pod annotation, span attributes, log lines and messages.
    """

    evil: bool = False
    series: int = 3
    profile: Profile = field(default_factory=Profile)
    failures: dict[str, Exception] = field(default_factory=dict)
    queries: list[dict[str, Any]] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    actions: list[tuple[str, str, bool, dict[str, Any]]] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cluster = _Cluster(self)
        self.metrics = _Metrics(self)
        self.traces = _Traces(self)
        self.logs = _Logs(self)
        self.inference = _Inference(self)

    def text(self, value: str) -> str:
        return f"{F.EVIL} {value}" if self.evil else value

    def now(self) -> datetime:
        return NOW

    def fail(self, what: str, error: Exception | None = None) -> None:
        self.failures[what] = error or HxbLabError(f"{what} failed")
