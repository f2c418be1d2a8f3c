"""`wb.inference.health()`: traffic and latency from each runtime's metrics, the callers'
view from traces, and DCGM GPU use per deployment, on the demo, where llm-chat's canary
made it slower two hours ago and image-tagger stopped serving half an hour ago."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hxb_lab.errors import ParameterError
from hxb_lab.inference.health import HEALTH_COLUMNS
from hxb_lab.workbench import Workbench

COLUMNS = [
    "cluster", "namespace", "workspace", "name", "kind", "ready", "model_version",
    "canary_percent", "pods", "gpus", "request_rate", "error_rate", "p50_ms", "p95_ms",
    "gpu_utilization", "gpu_memory_used", "gpu_memory_share", "metrics_source",
    "caller_calls", "caller_error_rate", "caller_p95_ms",
]  # fmt: skip


@pytest.fixture(scope="module")
def last_hour(demo_home: object) -> pd.DataFrame:
    import os

    import hxb_lab as hx

    previous = os.environ.get("HXB_LAB_HOME")
    os.environ["HXB_LAB_HOME"] = str(demo_home)
    try:
        with hx.connect() as wb:
            return wb.inference.health()
    finally:
        if previous is None:
            os.environ.pop("HXB_LAB_HOME", None)
        else:
            os.environ["HXB_LAB_HOME"] = previous


def test_the_columns_are_the_contract(last_hour: pd.DataFrame) -> None:
    assert list(last_hour.columns) == COLUMNS == [c for c, _ in HEALTH_COLUMNS]
    assert str(last_hour["request_rate"].dtype) == "float64"
    assert str(last_hour["gpus"].dtype) == "int64"
    assert len(last_hour) == 12


def test_a_triton_deployment_on_gpus_has_every_figure(last_hour: pd.DataFrame) -> None:
    embed = last_hour.set_index("name").loc["text-embed"]
    assert (embed["pods"], embed["gpus"]) == (4, 4)
    assert embed["request_rate"] > 10
    assert 0 < embed["error_rate"] < 0.01
    assert 5 < embed["p50_ms"] < embed["p95_ms"] < 100
    assert 0 < embed["gpu_utilization"] <= 100
    assert embed["gpu_memory_used"] > 2**30  # bytes, not MiB
    assert 0 < embed["gpu_memory_share"] < 1


def test_the_canary_is_slower_than_before_it(demo_wb: Workbench, last_hour: pd.DataFrame) -> None:
    before = demo_wb.inference.health(start="-4h", end="-2h").set_index("name").loc["llm-chat"]
    now = last_hour.set_index("name").loc["llm-chat"]
    assert (now["canary_percent"], now["model_version"]) == (20, 8)
    assert (now["pods"], now["gpus"]) == (4, 8)  # 3 stable + 1 canary pod, 2 H100s each
    assert now["p95_ms"] > 1.5 * before["p95_ms"]
    assert before["p50_ms"] == pytest.approx(180, rel=0.25)


def test_every_runtime_gives_traffic_figures(last_hour: pd.DataFrame) -> None:
    """Triton, MLServer (the Seldon models), TorchServe and KServe's own xgbserver: each
    deployment's traffic comes from what its runtime exports, and the frame says which."""
    by = last_hour.set_index("name")
    assert by["request_rate"].notna().all() and (by["request_rate"] > 1).all()
    assert (by["error_rate"] < 0.01).all()
    sources = by["metrics_source"].to_dict()
    assert {sources[n] for n in ("query-intent", "credit-limit")} == {"mlserver"}
    assert (sources["aml-graph"], sources["fraud-score"], sources["ocr"]) == (
        "torchserve",
        "kserve",
        "triton",
    )
    fraud = by.loc["fraud-score"]  # KServe's request_predict_seconds, in seconds: now ms
    assert 2 < fraud["p50_ms"] < fraud["p95_ms"] < 50
    # the callers see about the same latency as the runtime reports
    assert fraud["caller_p95_ms"] == pytest.approx(fraud["p95_ms"], rel=0.6)


def test_no_latency_histogram_or_no_gpu_is_nan_not_zero(last_hour: pd.DataFrame) -> None:
    by = last_hour.set_index("name")
    fraud = by.loc["fraud-score"]  # xgbserver on CPUs: no DCGM
    assert fraud["gpus"] == 0
    assert math.isnan(fraud["gpu_utilization"])
    assert math.isnan(fraud["gpu_memory_share"])
    graph = by.loc["aml-graph"]  # TorchServe on an A100: no latency histogram
    assert graph["gpus"] == 1
    assert graph["gpu_utilization"] > 0
    assert math.isnan(graph["p95_ms"])
    assert math.isnan(by.loc["query-intent", "p95_ms"])  # MLServer's counters only


def test_the_callers_see_the_failures_the_runtime_never_counts(demo_wb: Workbench) -> None:
    """image-tagger cannot load its model: its Triton counts no failure (no request reaches
    it), while the router sees every call to it fail."""
    recent = demo_wb.inference.health(start="-20m", namespace="vision").set_index("name")
    tagger = recent.loc["image-tagger"]
    assert tagger["error_rate"] == 0 and tagger["metrics_source"] == "triton"
    assert tagger["caller_calls"] > 10
    assert tagger["caller_error_rate"] == 1.0
    ocr = recent.loc["ocr"]
    assert ocr["caller_calls"] > 10 and ocr["caller_error_rate"] < 0.05


def test_a_deployment_that_cannot_load_its_model_serves_nothing(demo_wb: Workbench) -> None:
    recent = demo_wb.inference.health(start="-20m", namespace="vision").set_index("name")
    assert set(recent.index) == {"image-tagger", "ocr", "defect-detect"}
    tagger = recent.loc["image-tagger"]
    assert not tagger["ready"]
    assert tagger["request_rate"] == 0
    assert tagger["gpu_utilization"] < 1
    assert recent.loc["ocr", "request_rate"] > 1


def test_a_range_ending_before_it_starts_is_refused(demo_wb: Workbench) -> None:
    with pytest.raises(ParameterError, match="is before start"):
        demo_wb.inference.health(start="-1h", end="-2h")
