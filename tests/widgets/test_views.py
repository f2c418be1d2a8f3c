"""The views driven from Python as a user would: select rows, change ranges, press buttons."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest

from hxb_lab.errors import ParameterError
from hxb_lab.widgets import Views
from hxb_lab.widgets.gpus import idle_holders
from tests.widgets.bench import NOW, StaticBench


def _text(html: str) -> str:
    return " ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html).split())


def test_gpus_view_shows_the_fleet_the_holders_and_the_idle_ones() -> None:
    bench = StaticBench()
    view = Views(bench).gpus()
    assert view.error_message == ""
    view.threshold.value = 10
    heat = view.heatmap.live
    assert [t.type for t in heat.data] == ["heatmap", "heatmap"]
    assert heat.layout.title.text == "GPU utilisation (%), mean per GPU, last 1h"
    tree = view.allocation.live.data[0]
    assert dict(zip(tree.ids, tree.values, strict=True))["all"] == 12
    # DCGM names llm-chat-1 on GPU 0 of both H100 nodes (0 % and 5 % busy on average) and
    # text-embed-1 on GPU 0 of the L4 (10 %); llm-chat-2 is in no sample at all.
    assert list(view.idle_table.frame["pod"]) == ["llm-chat-2", "llm-chat-1"]
    idle = view.idle_table.frame.set_index("pod")
    assert idle.loc["llm-chat-1", "utilization_pct"] == 2.5
    assert idle.loc["llm-chat-2", "samples"] == 0  # no DCGM samples name it: counts as idle
    assert "2 pods hold 8 GPUs" in _text(view.idle_summary.value)
    view.threshold.value = 11
    assert list(view.idle_table.frame["pod"]) == ["llm-chat-2", "llm-chat-1", "text-embed-1"]
    view.kind.value = "memory"
    assert view.heatmap.live.layout.title.text.startswith("GPU memory (GiB)")
    assert view.figure() is view.heatmap.figure


def test_idle_holders_joins_pods_and_dcgm_by_namespace_and_pod() -> None:
    bench = StaticBench()
    idle = idle_holders(bench.cluster.gpu_allocation(by="pod"), bench.metrics.gpu_utilization(), 25)
    assert list(idle.columns) == [
        "namespace",
        "pod",
        "node",
        "gpu_product",
        "gpus_allocated",
        "utilization_pct",
        "peak_pct",
        "samples",
    ]
    assert idle.set_index("pod").loc["text-embed-1", "utilization_pct"] == 10.0
    assert idle.set_index("pod").loc["text-embed-1", "peak_pct"] == 11.0


def test_metrics_view_passes_range_step_group_by_and_aggregation_to_the_query() -> None:
    bench = StaticBench()
    view = Views(bench).metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], agg="max", last="6h")
    first = bench.queries[-1]
    assert first["metric"] == "DCGM_FI_DEV_GPU_UTIL"
    assert first["agg"] == "max"
    assert first["by"] == ["Hostname"]
    assert first["step"] is None
    assert (first["start"], first["end"]) == (NOW - timedelta(hours=6), NOW)
    lines = [t for t in view.chart.live.data if t.yaxis != "y2"]  # y2: the changes lane
    assert {t.name for t in lines} == {"Hostname-0", "Hostname-1", "Hostname-2"} and len(lines) == 3
    (lane,) = [t for t in view.chart.live.data if t.yaxis == "y2"]
    assert lane.name == "rollout" and "by kubectl" in lane.text[0]
    assert "3 series, 180 points" in _text(view.summary.value)
    view.step.value = "5m"
    view.by.value = "gpu, Hostname"
    view.rate.value = True
    last = bench.queries[-1]
    assert last["step"] == "5m"
    assert last["by"] == ["gpu", "Hostname"]
    assert last["rate"] is True
    assert view.chart.live.data[0].name == "gpu=gpu-0, Hostname=Hostname-0"
    assert view.figure().layout.title.text == "DCGM_FI_DEV_GPU_UTIL, last 6h"


def test_metrics_view_runs_promql_and_refuses_bad_arguments() -> None:
    bench = StaticBench()
    view = Views(bench).metrics(promql="sum(rate(nv_inference_count[5m]))", step="1m")
    assert bench.queries[-1] == {"promql": "sum(rate(nv_inference_count[5m]))", "step": "1m"}
    assert view.query.description == "PromQL"
    assert len([t for t in view.chart.live.data if t.yaxis != "y2"]) == 1
    view.query.value = "  "
    assert view.error_message == "invalid metric query: the query is empty"
    with pytest.raises(ParameterError, match="either a metric name or promql"):
        Views(bench).metrics()
    with pytest.raises(ParameterError, match="step: '2m' is not one of"):
        Views(bench).metrics("up", step="2m")


def test_traces_view_drills_from_services_to_a_span_and_its_logs() -> None:
    bench = StaticBench()
    view = Views(bench).traces()
    assert list(view.services_table.frame["service"])[:2] == ["api-gateway", "auth"]
    assert view.trace_box.layout.display == "none"
    assert len(view.traces_table) == 0
    view.services_table.select_where("service", "router")
    assert bench.searches[-1] == {"service": "router", "status": None}
    durations = list(view.traces_table.frame["duration_ms"])
    assert durations == sorted(durations, reverse=True)  # slowest first
    view.which.value = "failing"
    assert bench.searches[-1] == {"service": "router", "status": "error"}
    assert set(view.traces_table.frame["trace_id"]) == {"t0e", "t1e", "t2e"}
    view.traces_table.select(0)
    assert view.trace_box.layout.display == ""
    bars = [t for t in view.waterfall.live.data if t.type == "bar" and t.name != "critical path"]
    assert sum(len(t.y) for t in bars) == 5
    path = next(t for t in view.waterfall.live.data if t.name == "critical path")
    assert sorted(path.y) == [0, 2, 4]  # as the critical_path read says
    assert view.span.value == "a"
    assert "http.route GET /v1/chat" in _text(view.attributes.value)
    view.span.value = "e"
    assert "operation infer" in _text(view.attributes.value)
    assert "status STATUS_CODE_ERROR" in _text(view.attributes.value)
    view.span.value = "e"
    assert list(view.logs_table.frame["body"]) == ["inference failed: CUDA out of memory"]
    assert view.figure().layout.title.text == "trace t2e"  # failing: most recent first


def test_traces_view_can_open_on_a_service() -> None:
    view = Views(StaticBench()).traces(service="llm-chat")
    assert view.selected_service() == "llm-chat"
    assert len(view.traces_table) == 6
    fig = view.figure()
    assert fig.layout.meta["count"] == len(view.traces_table)


def test_services_view_draws_the_map_of_the_range() -> None:
    view = Views(StaticBench()).services(last="24h")
    nodes = next(t for t in view.map.live.data if t.name == "services")
    assert set(nodes.text) == {"api-gateway", "auth", "router", "llm-chat", "feature-store"}
    assert view.map.live.layout.title.text == "service map, last 24h"
    assert view.figure() is view.map.figure
    assert len(view.services_table) == 5


def test_inference_view_shows_the_selected_deployment() -> None:
    bench = StaticBench()
    view = Views(bench).inference()
    assert list(view.deployments_table.frame["name"]) == ["llm-chat", "text-embed"]
    assert view.selected_box.layout.display == "none"
    view.deployments_table.select_where("name", "llm-chat")
    assert view.selected_box.layout.display == ""
    cards = _text(view.health_cards.value)
    assert "requests/s 42.50" in cards
    assert "error rate 1.20% from Triton metrics" in cards
    # What the callers saw beside it: calls that never reached the runtime fail there too.
    assert "error rate (callers) 25.00% from traces: 1,200 calls, p95 410 ms" in cards
    assert "p50 / p95 181 / 402 ms" in cards
    assert "GPU busy 77 %" in cards
    assert "storage_uri s3://models/llm-chat/7" in _text(view.details.value)
    assert "stable 80 % · canary 20 % (llm-chat-predictor-00008)" in _text(view.traffic.value)
    assert len(view.latency.live.data) == 1  # only llm-chat's series
    assert np.asarray(view.latency.live.data[0].y).min() == 180
    gpu = view.gpu.live.data  # only the GPUs of the deployment's pods, one line per GPU
    assert sorted(t.name for t in gpu) == ["h100-0", "h100-1"]
    view.deployments_table.select_where("name", "text-embed")
    assert "health n/a no traffic in this range" in _text(view.health_cards.value)


def test_inference_actions_show_the_diff_before_apply() -> None:
    bench = StaticBench()
    view = Views(bench).inference()
    view.deployments_table.select_where("name", "llm-chat")
    assert view.apply_button.disabled
    view.action.value = "scale"
    view.min_replicas.value, view.max_replicas.value = 2, 5
    view.preview_button.click()
    assert bench.actions[-1] == (
        "scale",
        "llm-chat",
        False,
        {"min_replicas": 2, "max_replicas": 5, "namespace": "assistant"},
    )
    assert "dry run, nothing changed" in view.diff.value
    assert "+ max_replicas: 5" in view.diff.value
    assert not view.apply_button.disabled
    view.max_replicas.value = 6  # changed after the preview: must preview again
    assert view.apply_button.disabled
    view.preview_button.click()
    view.apply_button.click()
    assert bench.actions[-1][2] is True
    assert bench.actions[-1][3]["max_replicas"] == 6
    assert "applied" in view.diff.value
    assert view.apply_button.disabled
    assert view.selected_name() == "llm-chat"  # still selected after the refresh

    view.action.value = "canary"
    view.preview_button.click()
    assert view.error_message == "invalid canary: storage: give the canary's storage URI"
    view.storage_uri.value = "s3://models/llm-chat/8"
    view.preview_button.click()
    assert bench.actions[-1] == (
        "canary", "llm-chat", False, {"storage_uri": "s3://models/llm-chat/8", "percent": 10,
                                       "namespace": "assistant"},
    )  # fmt: skip
    view.action.value = "promote"
    view.preview_button.click()
    assert bench.actions[-1] == ("promote", "llm-chat", False, {})
    bench.fail("rollback", ParameterError(["llm-chat has no previous revision"]))
    view.action.value = "rollback"
    view.preview_button.click()
    assert view.error_message == "invalid parameters: llm-chat has no previous revision"
    assert view.apply_button.disabled
    view.action.value = "promote_from_registry"
    view.model.value = "llm-chat"
    view.preview_button.click()
    assert bench.actions[-1] == (
        "promote_from_registry",
        "llm-chat",
        False,
        {"model": "llm-chat", "alias": "champion"},
    )
