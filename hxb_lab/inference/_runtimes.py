"""What each model server exports about the requests it serves, as data: the metric names
documented by Triton, MLServer, TorchServe and KServe (its own model server, and the
Knative queue-proxy in front of every serverless predictor), read by `health`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RUNTIMES", "TRITON_LATENCY", "RuntimeMetrics"]

TRITON_LATENCY = "nv_inference_first_response_histogram_ms"


@dataclass(frozen=True)
class RuntimeMetrics:
    """One runtime's request metrics (Prometheus names; counters unless said otherwise)."""

    name: str  # the health frame's metrics_source
    requests: tuple[str, ...]  # counters whose rates add up to the requests served
    failures: str | None  # a counter of failed requests
    failures_where: tuple[tuple[str, str], ...] = ()  # labels selecting failures in it
    latency: str | None = None  # a latency histogram
    latency_ms: float = 1.0  # milliseconds per unit of the histogram


RUNTIMES: tuple[RuntimeMetrics, ...] = (
    # Triton first: its success series also name the model whose latency histogram it is.
    RuntimeMetrics(
        "triton",
        ("nv_inference_request_success", "nv_inference_request_failure"),
        "nv_inference_request_failure",
        latency=TRITON_LATENCY,
    ),
    RuntimeMetrics(
        "mlserver",
        ("model_infer_request_success", "model_infer_request_failure"),
        "model_infer_request_failure",
    ),
    # TorchServe counts every request per model; failures only per host (its pod), as
    # HTTP 5xx answers. It exports no latency histogram, only cumulative durations.
    RuntimeMetrics("torchserve", ("ts_inference_requests_total",), "Requests5XX"),
    # KServe's own model server (xgbserver, sklearnserver, ...) times its predict step; the
    # queue-proxy Knative runs beside it counts the requests by response code class.
    RuntimeMetrics(
        "kserve",
        ("revision_request_count",),
        "revision_request_count",
        (("response_code_class", "5xx"),),
        latency="request_predict_seconds",
        latency_ms=1000.0,
    ),
)
