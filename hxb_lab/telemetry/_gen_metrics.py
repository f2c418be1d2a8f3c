"""Metrics of the demo platform: DCGM exporter gauges per GPU, Triton counters and a latency
histogram per model pod, sampled every 30 s with the scenario's incidents in them.

Values follow the same traffic curve and latency model as the traces, so a metric and a
trace query tell the same story. Samples sit 7 s into each 30 s slot, never on a step
boundary, so that Prometheus and the SQL backend bucket them identically.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab import scenario
from hxb_lab.telemetry._flows import BASE_ERROR_RATE, FLOWS, MODEL_SIGMA, MODELS, canary_slowdown
from hxb_lab.telemetry._gen_sql import literal
from hxb_lab.telemetry._gen_traces import traffic

if TYPE_CHECKING:
    import numpy as np

    from hxb_lab.telemetry._fleet import Fleet, Gpu

INTERVAL_S = 30
OFFSET_S = 7
PLATFORM_RPS = 400.0
DRIVER = "550.90.07"
#: Bucket bounds (ms) of `nv_inference_first_response_histogram_ms` as the demo's Triton
#: servers are configured (``--metrics-config histogram_latency_buckets=...``).
LATENCY_BOUNDS_MS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)
#: Deployment -> share of a GPU it keeps busy at average traffic.
_BUSY = {
    "llm-chat": 0.78,
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


@dataclass
class Series:
    metric: str
    service: str
    labels: dict[str, str]
    unit: str
    description: str
    values: Any  # float array (gauge, sum) or (count, sum, buckets) for a histogram


@dataclass
class MetricSet:
    times_ns: Any
    gauges: list[Series] = field(default_factory=list)
    sums: list[Series] = field(default_factory=list)
    histograms: list[Series] = field(default_factory=list)

    @property
    def points(self) -> int:
        return len(self.times_ns) * (len(self.gauges) + len(self.sums) + len(self.histograms))


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
    gpu: Gpu, hot: bool, t: Any, now_ns: int, rng: np.random.Generator
) -> dict[str, Any]:
    import numpy as np

    from hxb_lab.telemetry._fleet import PRODUCTS

    _, tdp, clock, _ = PRODUCTS.get(gpu.product, ("", 300.0, 1500.0, 8))
    load = traffic(t)
    n = len(t)
    if gpu.deployment:
        util = _BUSY.get(gpu.deployment, 0.4) * load + rng.normal(0, 0.04, n)
        used = gpu.memory_mib * _MEMORY_SHARE.get(gpu.deployment, 0.45) + rng.normal(0, 40, n)
        if gpu.deployment == scenario.FAILING_DEPLOYMENT.target:
            down = _window_mask(t, now_ns, scenario.FAILING_DEPLOYMENT)
            util = np.where(down, 0.0, util)
            used = np.where(down, 310.0, used)
        if "canary" in gpu.pod:
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
) -> list[tuple[dict[str, str], dict[str, Any], tuple[Any, Any, Any]]]:
    """Per pod of a Triton deployment: its labels, cumulative counters and histogram."""
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
        buckets = np.array([rng.multinomial(int(s), probs) for s in success])
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
        out.append((labels, cumulative, hist))
    return out


def generate_metrics(fleet: Fleet, start_ns: int, end_ns: int, now_ns: int, seed: int) -> MetricSet:
    """Every metric series of the demo over [start_ns, end_ns)."""
    import numpy as np

    rng = np.random.default_rng(seed + 101)
    t = sample_times(start_ns, end_ns)
    result = MetricSet(t)
    hot = fleet.hot_gpu()
    for gpu in fleet.gpus:
        labels = {
            "gpu": str(gpu.index),
            "UUID": gpu.uuid,
            "device": f"nvidia{gpu.index}",
            "modelName": gpu.model_name,
            "Hostname": gpu.node,
            "DCGM_FI_DRIVER_VERSION": DRIVER,
        }
        if gpu.pod:
            labels.update(container="kserve-container", namespace=gpu.namespace, pod=gpu.pod)
        for metric, values in _gpu_series(gpu, gpu is hot, t, now_ns, rng).items():
            unit, help_ = DCGM[metric]
            result.gauges.append(Series(metric, "dcgm-exporter", labels, unit, help_, values))
    for name, d in MODELS.items():
        if d.runtime != "kserve-tritonserver":
            continue
        for labels, values, hist in _triton_series(name, fleet.pods[name], t, now_ns, rng):
            for metric, help_ in TRITON.items():
                unit = "us" if metric.endswith("_us") else "1"
                result.sums.append(Series(metric, "triton", labels, unit, help_, values[metric]))
            help_ = "Duration from request to first response in milliseconds"
            result.histograms.append(Series(HISTOGRAM, "triton", labels, "ms", help_, hist))
    return result


_COMMON = """
    map('service.name', toString(Service), 'k8s.cluster.name', {cluster:String}) AS ResourceAttributes,
    'otelcol/prometheusreceiver' AS ScopeName, '0.110.0' AS ScopeVersion,
    toString(Service) AS ServiceName, toString(Metric) AS MetricName,
    toString(Description) AS MetricDescription, toString(Unit) AS MetricUnit,
    CAST(JSONExtract(toString(Labels), 'Map(String, String)'), 'Map(LowCardinality(String), String)') AS Attributes,
    fromUnixTimestamp64Nano({start:Int64}, 'UTC') AS StartTimeUnix,
    fromUnixTimestamp64Nano(Time, 'UTC') AS TimeUnix"""
_SETTINGS = (
    "SETTINGS output_format_parquet_row_group_size = 65536, engine_file_truncate_on_insert = 1, "
    "schema_inference_make_columns_nullable = 0"
)
METRIC_SQL = {
    "gauge": f"SELECT {_COMMON}, Value, toUInt32(0) AS Flags",
    "sum": f"SELECT {_COMMON}, Value, toUInt32(0) AS Flags, toInt32(2) AS AggregationTemporality, true AS IsMonotonic",
    "histogram": f"""SELECT {_COMMON}, toUInt64(Count) AS Count, Sum,
        CAST(Buckets, 'Array(UInt64)') AS BucketCounts, {{bounds:Array(Float64)}} AS ExplicitBounds,
        toUInt32(0) AS Flags, 0.0 AS Min, 0.0 AS Max, toInt32(2) AS AggregationTemporality""",
}


def write_metrics(
    client: Any, metrics: MetricSet, out: Path, tmp: Path, cluster: str, start_ns: int
) -> None:
    """Write ``metrics_gauge/``, ``metrics_sum/`` and ``metrics_histogram/`` Parquet files."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.feather as feather

    t = metrics.times_ns
    n = len(t)
    for kind, series in (
        ("gauge", metrics.gauges),
        ("sum", metrics.sums),
        ("histogram", metrics.histograms),
    ):
        target = out / f"metrics_{kind}"
        target.mkdir(parents=True, exist_ok=True)
        if not series:
            continue
        ids = np.repeat(np.arange(len(series), dtype=np.int32), n)
        columns: dict[str, Any] = {
            "SeriesId": ids,
            "Time": np.tile(t, len(series)),
        }
        words = {
            "Metric": [s.metric for s in series],
            "Service": [s.service for s in series],
            "Unit": [s.unit for s in series],
            "Description": [s.description for s in series],
            "Labels": [json.dumps(s.labels, sort_keys=True) for s in series],
        }
        for key, per_series in words.items():
            columns[key] = pa.array(per_series).dictionary_encode().take(pa.array(ids))
        if kind == "histogram":
            columns["Count"] = np.concatenate([s.values[0] for s in series]).astype(np.uint64)
            columns["Sum"] = np.concatenate([s.values[1] for s in series]).astype(np.float64)
            flat = np.concatenate([s.values[2] for s in series]).astype(np.uint64)
            columns["Buckets"] = pa.FixedSizeListArray.from_arrays(
                pa.array(flat.reshape(-1)), flat.shape[1]
            )
        else:
            columns["Value"] = np.concatenate(
                [np.asarray(s.values, dtype=np.float64) for s in series]
            )
        path = tmp / f"metrics_{kind}.arrow"
        feather.write_feather(pa.table(columns), str(path), compression="uncompressed")
        client.command(
            f"INSERT INTO FUNCTION file({literal(str(target / 'metrics.parquet'))}, Parquet) "
            f"{METRIC_SQL[kind]} FROM file({literal(str(path))}, Arrow) "
            f"ORDER BY ServiceName, MetricName, SeriesId, TimeUnix {_SETTINGS}",
            parameters={"cluster": cluster, "start": start_ns, "bounds": list(LATENCY_BOUNDS_MS)},
        )
