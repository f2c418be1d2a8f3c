"""Request flows of the demo platform and their simulation as trace trees (numpy).

A flow is a tree of calls: the API gateway's server span at the root, client/server span
pairs for every remote call (with a retry on failure where the caller retries), internal
spans for a model's preprocess/infer/postprocess steps and a producer/consumer pair for
the feature log. `Simulation` times every span of every trace of one flow at once, with
numpy arrays over the traces, and applies the scenario's incidents by trace start time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Bools = npt.NDArray[np.bool_]
    Ints = npt.NDArray[np.int64]

MODELS = {d.name: d for d in scenario.DEPLOYMENTS}
FRONT_NAMESPACE = "platform"
BASE_ERROR_RATE = 0.002
#: Spread (sigma of the log) of a model's latency around its median.
MODEL_SIGMA = 0.35


def canary_slowdown() -> float:
    """How much slower a canary request is, so that the whole service's p95 is
    `LATENCY_REGRESSION.factor` times its healthy p95 while the canary takes its share:
    the mix's p95 then sits at the canary's own (1 - 0.05 / share) quantile."""
    z = NormalDist().inv_cdf
    share = scenario.CANARY_ROLLOUT.factor
    return scenario.LATENCY_REGRESSION.factor * math.exp(
        (z(0.95) - z(1 - 0.05 / share)) * MODEL_SIGMA
    )


@dataclass(frozen=True)
class Step:
    """An internal span of the calling service: a share of its own work."""

    name: str
    share: float


@dataclass(frozen=True)
class Publish:
    """A producer span, and the consumer span that processes the message later."""

    topic: str
    consumer: str


@dataclass(frozen=True)
class Call:
    """A server span of `service` (and, unless it is the root, the caller's client span)."""

    service: str
    operation: str
    work_ms: float
    sigma: float = 0.3
    children: tuple[Call | Step | Publish, ...] = ()
    protocol: str = "grpc"  # http | grpc
    retry: bool = False  # the caller retries once when this call fails


@dataclass(frozen=True)
class Flow:
    route: str
    weight: float
    root: Call


def _model(name: str) -> Call:
    d = MODELS[name]
    return Call(
        name,
        f"POST /v2/models/{name}/infer",
        d.p50_ms,
        MODEL_SIGMA,
        (Step("preprocess", 0.06), Step("infer", 0.9), Step("postprocess", 0.04)),
        protocol="http",
        retry=True,
    )


_AUTH = Call("auth", "auth.v1.Auth/Authorize", 2.5, 0.3)
_FEATURES = Call(
    "feature-store", "feast.serving.ServingService/GetOnlineFeatures", 7.0, 0.45, retry=True
)
_VECTORS = Call("vector-db", "qdrant.Points/Search", 14.0, 0.4)
_FEATURE_LOG = Publish("inference-events", "feature-store")


def _flow(route: str, weight: float, *calls: Call | Publish) -> Flow:
    router = Call("router", "router.v1.Router/Route", 0.8, 0.3, calls)
    gateway = Call("api-gateway", f"POST {route}", 1.2, 0.3, (_AUTH, router), protocol="http")
    return Flow(route, weight, gateway)


FLOWS: tuple[Flow, ...] = (
    _flow("/v1/chat", 0.16, _model("text-embed"), _VECTORS, _model("llm-chat")),
    _flow("/v1/summarize", 0.06, _model("text-embed"), _VECTORS, _model("llm-summarize")),
    _flow("/v1/code/complete", 0.07, _VECTORS, _model("code-assist")),
    _flow(
        "/v1/search",
        0.18,
        _model("query-intent"),
        _model("text-embed"),
        _VECTORS,
        _model("reranker"),
    ),
    _flow("/v1/risk/score", 0.2, _FEATURES, _model("fraud-score"), _FEATURE_LOG),
    _flow("/v1/risk/credit-limit", 0.07, _FEATURES, _model("credit-limit"), _FEATURE_LOG),
    _flow("/v1/risk/aml", 0.04, _FEATURES, _model("aml-graph")),
    _flow("/v1/vision/tag", 0.09, _model("image-tagger")),
    _flow("/v1/vision/ocr", 0.08, _model("ocr")),
    _flow("/v1/vision/defects", 0.05, _model("defect-detect")),
)


def spans_per_trace(flow: Flow) -> int:
    """Spans of one healthy trace of the flow (retries and failures change it a little)."""

    def count(call: Call, root: bool) -> int:
        total = 1 if root else 2
        for child in call.children:
            total += 1 if isinstance(child, Step) else 2 if isinstance(child, Publish) else 0
            if isinstance(child, Call):
                total += count(child, False)
        return total

    return count(flow.root, True)


@dataclass
class Span:
    """One span position of a flow's template, with its values across all traces (arrays
    set by the simulation: present, start and duration in ms after the trace start, error,
    status code)."""

    index: int
    parent: int
    service: str
    name: str
    kind: str
    protocol: str
    peer: str = ""
    attempt: int = 0
    present: Any = None
    start: Any = None
    duration: Any = None
    error: Any = None
    code: Any = None
    message: str = ""
    canary: Bools | None = None


@dataclass
class Incidents:
    """The scenario's incidents as masks over trace start times (ns since the epoch)."""

    now_ns: int

    def since(self, incident: scenario.Incident, t: Ints) -> Bools:
        begin = self.now_ns - int(incident.starts_before_now.total_seconds() * 1e9)
        mask: Bools = t >= begin
        if incident.lasts is not None:
            mask &= t < begin + int(incident.lasts.total_seconds() * 1e9)
        return mask


class Simulation:
    """Times every span of `n` traces of one flow starting at `t` (ns)."""

    def __init__(self, flow: Flow, t: Ints, rng: np.random.Generator, incidents: Incidents):
        import numpy as np

        self.np = np
        self.flow, self.t, self.rng, self.incidents = flow, t, rng, incidents
        self.n = len(t)
        self.spans: list[Span] = []
        self.burst = incidents.since(scenario.ERROR_BURST, t)
        self.down = incidents.since(scenario.FAILING_DEPLOYMENT, t)
        canary_window = incidents.since(scenario.CANARY_ROLLOUT, t)
        self.canary = canary_window & (rng.random(self.n) < scenario.CANARY_ROLLOUT.factor)
        self.slowdown = canary_slowdown()

    def run(self) -> list[Span]:
        np = self.np
        alive = np.ones(self.n, dtype=bool)
        self.server(self.flow.root, -1, np.zeros(self.n), alive, "")
        return self.spans

    def _lognormal(self, median: float, sigma: float) -> Floats:
        np = self.np
        out: Floats = median * np.exp(sigma * self.rng.standard_normal(self.n))
        return out

    def _add(self, parent: int, service: str, name: str, kind: str, protocol: str) -> Span:
        span = Span(len(self.spans), parent, service, name, kind, protocol)
        self.spans.append(span)
        return span

    def server(
        self, call: Call, parent: int, start: Floats, alive: Bools, caller: str
    ) -> tuple[Floats, Bools]:
        np = self.np
        span = self._add(parent, call.service, call.operation, "Server", call.protocol)
        work = self._lognormal(call.work_ms, call.sigma)
        if call.service == scenario.LATENCY_REGRESSION.target:
            span.canary = self.canary
            work = np.where(self.canary, work * self.slowdown, work)
        rate = np.full(self.n, BASE_ERROR_RATE)
        message = "internal error"
        if call.service == scenario.ERROR_BURST.target:
            rate = np.where(self.burst, scenario.ERROR_BURST.factor, rate)
            message = "deadline exceeded: online store read timed out after 250ms"
        failed = alive & (self.rng.random(self.n) < rate)
        if call.service == scenario.ERROR_BURST.target:  # a timeout takes its full deadline
            work = np.where(failed, 250.0 + self.rng.random(self.n) * 8, work)
        has_steps = any(isinstance(c, Step) for c in call.children)
        t = start + (0.2 if has_steps else work * 0.5)
        ok = alive.copy()
        for child in call.children:
            if isinstance(child, Step):
                step = self._add(span.index, call.service, child.name, "Internal", "")
                step.present, step.start = alive, t.copy()
                step.duration = np.maximum(work * child.share, 0.01)
                step.error = np.zeros(self.n, dtype=bool)
                step.code = np.zeros(self.n, dtype=np.int64)
                t = t + step.duration
            elif isinstance(child, Publish):
                self.publish(child, span.index, call.service, t, ok)
                t = np.where(ok, t + 0.6, t)
            else:
                end, child_failed = self.client(child, span.index, call.service, t, ok)
                t = np.where(ok, end, t)
                failed = failed | child_failed
                ok = ok & ~child_failed  # new arrays: spans keep references to masks
        if not has_steps:
            t = t + work * 0.5
        end = t + 0.15
        span.present, span.start, span.duration = alive, start, end - start
        span.error = failed
        span.code = self._codes(call.protocol, failed, call.service)
        span.message = message if call.service == scenario.ERROR_BURST.target else ""
        if not span.message:
            has_calls = any(isinstance(c, Call) for c in call.children)
            span.message = "upstream request failed" if has_calls else message
        return end, failed

    def _codes(self, protocol: str, failed: Bools, service: str) -> Ints:
        np = self.np
        if protocol == "http":
            out: Ints = np.where(failed, 503, 200).astype(np.int64)
        else:
            bad = 4 if service == scenario.ERROR_BURST.target else 13
            out = np.where(failed, bad, 0).astype(np.int64)
        return out

    def client(
        self, call: Call, parent: int, caller: str, start: Floats, alive: Bools
    ) -> tuple[Floats, Bools]:
        np = self.np
        t = start.copy()
        present = alive
        failed = np.zeros(self.n, dtype=bool)
        for attempt in range(2 if call.retry else 1):
            span = self._add(parent, caller, call.operation, "Client", call.protocol)
            span.peer, span.attempt = call.service, attempt + 1
            unavailable = np.zeros(self.n, dtype=bool)
            if call.service == scenario.FAILING_DEPLOYMENT.target:
                unavailable = present & self.down
            net = 0.3 + self.rng.random(self.n) * 0.7
            s_end, s_failed = self.server(call, span.index, t + net, present & ~unavailable, caller)
            end = np.where(unavailable, t + 1.5 + self.rng.random(self.n), s_end + net)
            c_failed = present & (unavailable | s_failed)
            span.present, span.start, span.duration = present, t.copy(), end - t
            span.error = c_failed
            span.code = self._codes(call.protocol, c_failed, call.service)
            span.message = (
                f"503 Service Unavailable: no healthy upstream for {call.service}"
                if call.service == scenario.FAILING_DEPLOYMENT.target
                else f"call to {call.service} failed"
            )
            backoff = 10.0 + self.rng.random(self.n) * 5
            t = np.where(present, np.where(c_failed, end + backoff, end), t)
            failed = c_failed
            present = c_failed  # retry only what failed
        t = np.where(failed, t - 10.0, t)  # no backoff after the last attempt
        return t, failed

    def publish(self, pub: Publish, parent: int, caller: str, t: Floats, alive: Bools) -> None:
        np = self.np
        producer = self._add(parent, caller, f"{pub.topic} publish", "Producer", "kafka")
        producer.peer = pub.consumer
        producer.present, producer.start = alive, t.copy()
        producer.duration = 0.3 + self.rng.random(self.n) * 0.5
        producer.error = np.zeros(self.n, dtype=bool)
        producer.code = np.zeros(self.n, dtype=np.int64)
        consumer = self._add(
            producer.index, pub.consumer, f"{pub.topic} process", "Consumer", "kafka"
        )
        consumer.present = alive
        consumer.start = t + 5.0 + self._lognormal(20.0, 0.8)
        consumer.duration = self._lognormal(3.0, 0.4)
        consumer.error = np.zeros(self.n, dtype=bool)
        consumer.code = np.zeros(self.n, dtype=np.int64)
