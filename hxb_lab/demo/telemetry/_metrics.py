"""Metrics of the demo platform: DCGM exporter gauges per GPU, and per model pod what its
runtime exports (Triton's counters and latency histogram; MLServer's, TorchServe's and
KServe's model server's, with the Knative queue-proxy beside a KServe predictor), sampled
every 30 s with the scenario's incidents in them.

Values follow the same traffic curve and latency model as the traces, so a metric and a
trace query tell the same story. Samples sit 7 s into each 30 s slot, never on a step
boundary, so that Prometheus and the SQL backend bucket them identically. A series exists
only while its pod does: the canary's GPU carries its pod's labels (and the canary's Triton
series exist) only since the rollout, as a DCGM exporter and a Triton server would report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.telemetry._fleet import PRODUCTS
from hxb_lab.demo.telemetry._flows import (
    BASE_ERROR_RATE,
    FLOWS,
    MODEL_SIGMA,
    MODELS,
    canary_slowdown,
)
from hxb_lab.demo.telemetry._traces import traffic

if TYPE_CHECKING:
    import numpy as np

    from hxb_lab.demo.telemetry._fleet import Fleet, Gpu

INTERVAL_S = 30
OFFSET_S = 7
PLATFORM_RPS = 400.0
DRIVER = "550.90.07"
#: Bucket bounds (ms) of `nv_inference_first_response_histogram_ms` as the demo's Triton
#: servers are configured (``--metrics-config histogram_latency_buckets=...``).
LATENCY_BOUNDS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)
#: Deployment -> share of a GPU it keeps busy at average traffic.
_BUSY = {
    "llm-chat": 0.62,  # x 1.3 at the daily peak, x 1.1 for the canary: busy, never saturated
    "llm-summarize": 0.62,
    "code-assist": 0.58,
    "text-embed": 0.42,
    "reranker": 0.5,
    "image-tagger": 0.4,
    "ocr": 0.52,
    "defect-detect": 0.35,
    "aml-graph": 0.3,
}
_MEMORY_SHARE = {"llm-chat": 0.9, "llm-summarize": 0.86, "code-assist": 0.8}

DCGM = {
    "DCGM_FI_DEV_GPU_UTIL": ("%", "GPU utilization (in %)."),
    "DCGM_FI_DEV_FB_USED": ("MiB", "Framebuffer memory used (in MiB)."),
    "DCGM_FI_DEV_FB_FREE": ("MiB", "Framebuffer memory free (in MiB)."),
    "DCGM_FI_DEV_GPU_TEMP": ("C", "GPU temperature (in C)."),
    "DCGM_FI_DEV_POWER_USAGE": ("W", "Power draw (in W)."),
    "DCGM_FI_DEV_SM_CLOCK": ("MHz", "SM clock frequency (in MHz)."),
}
TRITON = {
    "nv_inference_request_success": "Number of successful inference requests, all batch sizes",
    "nv_inference_request_failure": "Number of failed inference requests, all batch sizes",
    "nv_inference_count": "Number of inferences performed (does not include cached requests)",
    "nv_inference_exec_count": "Number of model executions performed",
    "nv_inference_request_duration_us": "Cumulative inference request duration in microseconds",
    "nv_inference_queue_duration_us": "Cumulative inference queuing duration in microseconds",
    "nv_inference_compute_infer_duration_us": "Cumulative compute inference duration in us",
}
HISTOGRAM = "nv_inference_first_response_histogram_ms"
#: What the other runtimes of the demo export, by the names their documentation gives:
#: MLServer's default metrics (counters); TorchServe's frontend metrics in Prometheus mode
#: (``ts_*`` per model, ``Requests2XX``/``Requests5XX`` per host, i.e. per pod here);
#: KServe's own model server (xgbserver, sklearnserver, ...) times the predict step in a
#: histogram in seconds, and the Knative queue-proxy in front of a serverless predictor
#: counts its requests by response code class.
MLSERVER = {
    "model_infer_request_success": "Number of successful inference requests.",
    "model_infer_request_failure": "Number of failed inference requests.",
}
TORCHSERVE = {
    "ts_inference_requests_total": "Total number of inference requests received.",
    "ts_inference_latency_microseconds": "Cumulative inference duration in microseconds.",
    "ts_queue_latency_microseconds": "Cumulative queue duration in microseconds.",
    "Requests2XX": "Torchserve prometheus counter metric with unit: Count",
    "Requests5XX": "Torchserve prometheus counter metric with unit: Count",
}
KSERVE_PREDICT = "request_predict_seconds"
QUEUE_PROXY = "revision_request_count"
#: Bucket bounds (s) of `request_predict_seconds` in the demo: Triton's in seconds.
PREDICT_BOUNDS_S = tuple(b / 1000 for b in LATENCY_BOUNDS_MS)


@dataclass
class Series:
    metric: str
    service: str
    labels: dict[str, str]
    unit: str
    description: str
    values: Any  # float array (gauge, sum) or (count, sum, buckets) for a histogram
    mask: Any = None  # which sample times the series has (a bool array); None: all of them
    bounds: tuple[float, ...] | None = None  # a histogram's; None: LATENCY_BOUNDS_MS

    def kept(self, values: Any) -> Any:
        """`values` (one per sample time) at the times this series has."""
        return values if self.mask is None else values[self.mask]


@dataclass
class MetricSet:
    times_ns: Any
    gauges: list[Series] = field(default_factory=list)
    sums: list[Series] = field(default_factory=list)
    histograms: list[Series] = field(default_factory=list)

    @property
    def points(self) -> int:
        every = (*self.gauges, *self.sums, *self.histograms)
        n = len(self.times_ns)
        return sum(n if s.mask is None else int(s.mask.sum()) for s in every)


def sample_times(start_ns: int, end_ns: int) -> Any:
    import numpy as np

    step = INTERVAL_S * 10**9
    first = (start_ns // step) * step + OFFSET_S * 10**9
    return np.arange(first, end_ns, step, dtype=np.int64)


def _window_mask(t: Any, now_ns: int, incident: scenario.Incident) -> Any:
    begin = now_ns - int(incident.starts_before_now.total_seconds() * 1e9)
    mask = t >= begin
    if incident.lasts is not None:
        mask &= t < begin + int(incident.lasts.total_seconds() * 1e9)
    return mask


def _model_rps() -> dict[str, float]:
    """Average requests per second reaching each model, from the flows' weights."""
    total = sum(f.weight for f in FLOWS)
    rps: dict[str, float] = {}

    def visit(call: Any, share: float) -> None:
        for child in getattr(call, "children", ()):
            if getattr(child, "service", None) in MODELS:
                rps[child.service] = rps.get(child.service, 0.0) + share
            visit(child, share)

    for flow in FLOWS:
        visit(flow.root, PLATFORM_RPS * flow.weight / total)
    return rps


def _gpu_series(
    gpu: Gpu, hot: bool, canary: bool, t: Any, now_ns: int, rng: np.random.Generator
) -> dict[str, Any]:
    import numpy as np

    _, tdp, clock, _ = PRODUCTS.get(gpu.product, ("", 300.0, 1500.0, 8))
    load = traffic(t)
    n = len(t)
    forgotten = scenario.FORGOTTEN_NOTEBOOK
    if gpu.pod == forgotten.pod and gpu.namespace == forgotten.workspace:
        # Holds the GPU and its kernel's memory, computes (almost) nothing: 0-3 %.
        util = forgotten.utilization * (1 + rng.normal(0, 0.6, n))
        util = np.clip(util, 0.0, 0.03)
        used = gpu.memory_mib * forgotten.memory_share + rng.normal(0, 4, n)
    elif gpu.deployment:
        util = _BUSY.get(gpu.deployment, 0.4) * load + rng.normal(0, 0.04, n)
        used = gpu.memory_mib * _MEMORY_SHARE.get(gpu.deployment, 0.45) + rng.normal(0, 40, n)
        if gpu.deployment == scenario.FAILING_DEPLOYMENT.target:
            down = _window_mask(t, now_ns, scenario.FAILING_DEPLOYMENT)
            util = np.where(down, 0.0, util)
            used = np.where(down, 310.0, used)
        if canary:
            live = _window_mask(t, now_ns, scenario.CANARY_ROLLOUT)
            util = np.where(live, util * 1.1, 0.0)
            used = np.where(live, used, 0.0)
    elif gpu.pod:  # a batch job (training, evaluation) keeps its GPU busy
        util = 0.85 + rng.normal(0, 0.05, n)
        used = gpu.memory_mib * 0.7 + rng.normal(0, 60, n)
    else:
        util = np.abs(rng.normal(0, 0.003, n))
        used = np.full(n, 0.0)
    util = np.clip(util, 0.0, 1.0) * 100
    temp = 31 + 0.5 * util + rng.normal(0, 0.7, n)
    power = tdp * (0.12 + 0.8 * util / 100) + rng.normal(0, tdp * 0.01, n)
    sm = np.where(util > 3, clock, 210.0)
    if hot:
        now_hot = _window_mask(t, now_ns, scenario.HOT_GPU)
        busy = np.clip(scenario.HOT_GPU.factor * 100 + rng.normal(0, 0.4, n), 0, 100)
        util = np.where(now_hot, busy, util)
        temp = np.where(now_hot, 88 + rng.normal(0, 0.8, n), temp)
        power = np.where(now_hot, tdp * (0.97 + rng.normal(0, 0.01, n)), power)
        sm = np.where(now_hot, clock * 0.78, sm)
    used = np.clip(np.round(used), 0, gpu.memory_mib)
    return {
        "DCGM_FI_DEV_GPU_UTIL": np.round(util),
        "DCGM_FI_DEV_FB_USED": used,
        "DCGM_FI_DEV_FB_FREE": gpu.memory_mib - used,
        "DCGM_FI_DEV_GPU_TEMP": np.round(temp),
        "DCGM_FI_DEV_POWER_USAGE": np.round(power, 3),
        "DCGM_FI_DEV_SM_CLOCK": np.round(sm),
    }


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


def _triton_series(
    deployment: str, pods: list[Any], t: Any, now_ns: int, rng: np.random.Generator
) -> list[tuple[dict[str, str], dict[str, Any], tuple[Any, Any, Any], Any]]:
    """Per pod of a Triton deployment: its labels, cumulative counters, histogram and the
    sample times it has (None: all; a canary's only since the rollout)."""
    import numpy as np

    d = MODELS[deployment]
    rps = _model_rps().get(deployment, 1.0)
    stable = [p for p in pods if not p.canary] or pods
    canary_live = _window_mask(t, now_ns, scenario.CANARY_ROLLOUT)
    share = scenario.CANARY_ROLLOUT.factor
    out = []
    for pod in pods:
        if pod.canary:
            fraction = np.where(canary_live, share, 0.0)
            slow = canary_slowdown()
        else:
            has_canary = len(stable) < len(pods)
            fraction = np.where(canary_live & has_canary, 1 - share, 1.0) / len(stable)
            slow = 1.0
        rate = rps * traffic(t) * fraction
        if deployment == scenario.FAILING_DEPLOYMENT.target:
            rate = np.where(_window_mask(t, now_ns, scenario.FAILING_DEPLOYMENT), 0.0, rate)
        requests = rng.poisson(rate * INTERVAL_S)
        failures = rng.binomial(requests, BASE_ERROR_RATE)
        success = requests - failures
        median = d.p50_ms * slow
        mean_ms = median * math.exp(MODEL_SIGMA**2 / 2)
        duration_us = success * mean_ms * 1000 * (1 + rng.normal(0, 0.03, len(t)))
        probs = np.diff(
            [0.0, *(_lognormal_cdf(b, median, MODEL_SIGMA) for b in LATENCY_BOUNDS_MS), 1.0]
        )
        buckets = rng.multinomial(success, probs)
        values = {
            "nv_inference_request_success": success,
            "nv_inference_request_failure": failures,
            "nv_inference_count": success,
            "nv_inference_exec_count": np.ceil(success / 2.0),
            "nv_inference_request_duration_us": np.maximum(duration_us, 0),
            "nv_inference_queue_duration_us": np.maximum(duration_us * 0.03, 0),
            "nv_inference_compute_infer_duration_us": np.maximum(duration_us * 0.85, 0),
        }
        cumulative = {k: np.round(np.cumsum(v), 3) for k, v in values.items()}
        sums = np.cumsum(success * mean_ms * (1 + rng.normal(0, 0.03, len(t))))
        hist = (np.cumsum(success), np.maximum(np.round(sums, 3), 0), np.cumsum(buckets, axis=0))
        labels = {
            "model": deployment,
            "version": str(pod.version),
            "namespace": pod.namespace,
            "pod": pod.name,
        }
        out.append((labels, cumulative, hist, canary_live if pod.canary else None))
    return out


def generate_metrics(fleet: Fleet, start_ns: int, end_ns: int, now_ns: int, seed: int) -> MetricSet:
    """Every metric series of the demo over [start_ns, end_ns)."""
    import numpy as np

    rng = np.random.default_rng(seed + 101)
    t = sample_times(start_ns, end_ns)
    result = MetricSet(t)
    hot = fleet.hot_gpu()
    canaries = {p.name for pods in fleet.pods.values() for p in pods if p.canary}
    since_rollout = _window_mask(t, now_ns, scenario.CANARY_ROLLOUT)
    for gpu in fleet.gpus:
        free = {
            "gpu": str(gpu.index),
            "UUID": gpu.uuid,
            "device": f"nvidia{gpu.index}",
            "modelName": gpu.model_name,
            "Hostname": gpu.node,
            "DCGM_FI_DRIVER_VERSION": DRIVER,
        }
        held = dict(free)
        if gpu.pod:
            container = gpu.container or "kserve-container"
            held.update(container=container, namespace=gpu.namespace, pod=gpu.pod)
        canary = gpu.pod in canaries
        # (labels, sample times): a canary's GPU was free until the rollout.
        periods = [(free, ~since_rollout), (held, since_rollout)] if canary else [(held, None)]
        for metric, values in _gpu_series(gpu, gpu is hot, canary, t, now_ns, rng).items():
            unit, help_ = DCGM[metric]
            for labels, mask in periods:
                result.gauges.append(
                    Series(metric, "dcgm-exporter", labels, unit, help_, values, mask)
                )
    for name, d in MODELS.items():
        if d.runtime != "kserve-tritonserver":
            continue
        for labels, values, hist, mask in _triton_series(name, fleet.pods[name], t, now_ns, rng):
            for metric, help_ in TRITON.items():
                unit = "us" if metric.endswith("_us") else "1"
                result.sums.append(
                    Series(metric, "triton", labels, unit, help_, values[metric], mask)
                )
            help_ = "Duration from request to first response in milliseconds"
            result.histograms.append(Series(HISTOGRAM, "triton", labels, "ms", help_, hist, mask))
            if name == scenario.CANARY_ROLLOUT.target:  # its Istio route splits by revision
                _istio_series(result, name, labels, values, hist, mask)
    for name, d in MODELS.items():  # after Triton's: its series keep their random draws
        if d.runtime != "kserve-tritonserver":
            _runtime_series(result, name, fleet.pods[name], t, rng)
    return result


ISTIO_REQUESTS = "istio_requests_total"
ISTIO_DURATION = "istio_request_duration_milliseconds"


def _istio_series(
    result: MetricSet, deployment: str, labels: dict[str, str], values: dict[str, Any],
    hist: tuple[Any, Any, Any], mask: Any,
) -> None:  # fmt: skip
    """What Istio's sidecar of a pod reports of the same requests (reporter "destination"),
    labelled with the pod's Knative revision as its canonical revision."""
    istio = {
        "reporter": "destination",
        "destination_service_name": f"{deployment}-predictor",
        "destination_service_namespace": labels["namespace"],
        "destination_canonical_revision": f"{deployment}-predictor-{int(labels['version']):05d}",
        "namespace": labels["namespace"],
        "pod": labels["pod"],
    }
    help_ = "Total requests"
    for code, metric in (("200", "nv_inference_request_success"),
                         ("500", "nv_inference_request_failure")):  # fmt: skip
        counter = {**istio, "response_code": code}
        result.sums.append(Series(ISTIO_REQUESTS, "istio-proxy", counter, "1", help_,
                                  values[metric], mask))  # fmt: skip
    help_ = "Request duration in milliseconds"
    result.histograms.append(Series(ISTIO_DURATION, "istio-proxy", istio, "ms", help_, hist, mask))


def _runtime_series(
    result: MetricSet, deployment: str, pods: list[Any], t: Any, rng: np.random.Generator
) -> None:
    """The series of one deployment served by MLServer, TorchServe or KServe's own server."""
    import numpy as np

    d = MODELS[deployment]
    rps = _model_rps().get(deployment, 1.0)
    mean_ms = d.p50_ms * math.exp(MODEL_SIGMA**2 / 2)
    for pod in pods:
        requests = rng.poisson(rps * traffic(t) / len(pods) * INTERVAL_S)
        failures = rng.binomial(requests, BASE_ERROR_RATE)
        success = requests - failures
        where = {"namespace": pod.namespace, "pod": pod.name}

        def counter(metric: str, service: str, labels: dict[str, str], help_: str,
                    per_slot: Any, pod_labels: dict[str, str] = where) -> None:  # fmt: skip
            total = np.round(np.cumsum(per_slot), 3)
            result.sums.append(Series(metric, service, {**labels, **pod_labels}, "1", help_, total))

        if d.runtime == "mlserver":
            model = {"model_name": deployment, "model_version": str(pod.version)}
            for metric, values in (
                ("model_infer_request_success", success),
                ("model_infer_request_failure", failures),
            ):
                counter(metric, "mlserver", model, MLSERVER[metric], values)
        elif d.runtime == "kserve-torchserve":
            model = {"model_name": deployment, "model_version": str(pod.version)}
            busy_us = success * mean_ms * 1000 * (1 + rng.normal(0, 0.03, len(t)))
            for metric, values in (
                ("ts_inference_requests_total", requests),
                ("ts_inference_latency_microseconds", np.maximum(busy_us, 0)),
                ("ts_queue_latency_microseconds", np.maximum(busy_us * 0.02, 0)),
            ):
                counter(metric, "torchserve", model, TORCHSERVE[metric], values)
            host = {"Level": "Host", "Hostname": pod.name}
            counter("Requests2XX", "torchserve", host, TORCHSERVE["Requests2XX"], success)
            counter("Requests5XX", "torchserve", host, TORCHSERVE["Requests5XX"], failures)
        else:  # KServe's own model server, behind the Knative queue-proxy
            revision = f"{deployment}-predictor-{pod.version:05d}"
            proxy = {"namespace_name": pod.namespace, "pod_name": pod.name,
                     "revision_name": revision, "service_name": f"{deployment}-predictor",
                     "configuration_name": f"{deployment}-predictor"}  # fmt: skip
            help_ = "The number of requests that are routed to queue-proxy"
            for code, values in (("200", success), ("500", failures)):
                status = {"response_code": code, "response_code_class": f"{code[0]}xx"}
                counter(QUEUE_PROXY, "queue-proxy", {**proxy, **status}, help_, values)
            probs = np.diff(
                [0.0, *(_lognormal_cdf(b * 1000, d.p50_ms, MODEL_SIGMA) for b in PREDICT_BOUNDS_S),
                 1.0]
            )  # fmt: skip
            buckets = rng.multinomial(requests, probs)
            seconds = np.cumsum(requests * mean_ms / 1000)
            hist = (np.cumsum(requests), np.round(seconds, 6), np.cumsum(buckets, axis=0))
            labels = {"model_name": deployment, **where}
            help_ = "predict latency in seconds"
            result.histograms.append(
                Series(KSERVE_PREDICT, "kserve", labels, "s", help_, hist, None, PREDICT_BOUNDS_S)
            )
