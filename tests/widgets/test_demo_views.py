"""Every view on the demo platform, reading the real layers (snapshot cluster, chDB telemetry,
MLflow registry): the values they show are the values the frames hold.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.cluster import IDLE_BELOW_PCT
from hxb_lab.demo import scenario
from hxb_lab.widgets.gpus import IDLE_COLUMNS


def _text(html: str) -> str:
    return " ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html).split())


@pytest.fixture
def wb(demo_env: Path):
    workbench = hx.connect()
    yield workbench
    workbench.close()


def test_gpus_view_on_the_demo(wb) -> None:
    view = wb.view.gpus()
    assert view.error_message == ""
    start, end = view.range()
    util = wb.metrics.gpu_utilization(start=start, end=end)
    cells = sum(t.z.size for t in view.heatmap.live.data if t.type == "heatmap")
    assert cells >= util.groupby(["Hostname", "gpu"]).ngroups  # every GPU has a cell
    total = int(wb.cluster.gpus()["allocatable"].sum())
    assert f"of {total}" in view.allocation.live.layout.title.text
    view.threshold.value = 30
    idle = view.idle_table.frame
    assert len(idle) > 0
    means = util[util["pod"] != ""].groupby(["namespace", "pod"])["value"].mean()
    for row in idle.itertuples():
        if row.samples:
            assert row.utilization_pct == pytest.approx(means[(row.namespace, row.pod)])
            assert row.utilization_pct < 30


def test_the_gpus_view_finds_the_forgotten_notebook(wb) -> None:
    """Under 10 % busy over the default range, the one allocated-but-idle holder is the
    notebook server the story left holding an A100."""
    view = wb.view.gpus()
    assert view.error_message == ""
    assert view.threshold.value == IDLE_BELOW_PCT
    view.threshold.value = 10
    idle = view.idle_table.frame
    assert list(idle.columns) == list(IDLE_COLUMNS)
    assert idle[["namespace", "pod", "gpu_product", "gpus_allocated"]].values.tolist() == [
        ["risk", "notebook-kim-0", "NVIDIA-A100-SXM4-40GB", 1]
    ]
    row = idle.iloc[0]
    assert row.samples > 0 and row.utilization_pct < 3 and row.peak_pct <= 3
    pods = wb.cluster.pods(workspace="risk").set_index("name")
    assert row.node == pods.loc["notebook-kim-0", "node"]
    assert _text(view.idle_summary.value) == "1 pod holds 1 GPU while under 10 % busy"


def test_inference_view_on_the_demo(wb) -> None:
    view = wb.view.inference()
    assert view.error_message == ""
    assert len(view.deployments_table) == len(wb.inference.deployments())
    view.deployments_table.select_where("name", "llm-chat")
    assert view.error_message == ""
    assert "canary 20 %" in _text(view.traffic.value)
    start, end = view.range()
    health = wb.inference.health(start=start, end=end).set_index("name").loc["llm-chat"]
    assert f"requests/s {health['request_rate']:,.2f}" in _text(view.health_cards.value)
    # The demo's broken deployment: its runtime counts few errors, its callers see many.
    view.deployments_table.select_where("name", "image-tagger")
    tagger = wb.inference.health(start=start, end=end).set_index("name").loc["image-tagger"]
    assert tagger["caller_error_rate"] > 0.5 > tagger["error_rate"]
    cards = _text(view.health_cards.value)
    assert f"error rate {tagger['error_rate']:.2%} from Triton metrics" in cards
    assert f"error rate (callers) {tagger['caller_error_rate']:.2%} from traces" in cards
    view.deployments_table.select_where("name", "llm-chat")
    assert len(view.latency.live.data) >= 1
    assert len(view.gpu.live.data) >= 1
    view.action.value = "scale"
    view.min_replicas.value, view.max_replicas.value = 2, 6
    view.preview_button.click()
    assert view.error_message == ""
    assert "maxReplicas: 6" in view.diff.value
    assert not view.apply_button.disabled


def test_metrics_view_on_the_demo(wb) -> None:
    view = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname", "gpu"], step="1m", last="6h")
    assert view.error_message == ""
    assert view.frame is not None
    series = view.frame.groupby(["Hostname", "gpu"]).ngroups
    lines = [t for t in view.chart.live.data if t.yaxis != "y2"]  # y2: the changes lane
    assert len(lines) == series > 40
    assert view.last_refresh_seconds < 5


def test_traces_view_on_the_demo(wb) -> None:
    view = wb.view.traces(service="api-gateway")
    assert view.error_message == ""
    assert view.selected_service() == "api-gateway"
    view.which.value = "failing"
    assert len(view.traces_table) > 0
    assert (view.traces_table.frame["errors"] > 0).all()
    view.traces_table.select(0)
    trace_id = view.selected_trace()
    spans = wb.traces.get(trace_id)
    bars = [t for t in view.waterfall.live.data if t.type == "bar" and t.name != "critical path"]
    assert sum(len(t.y) for t in bars) == len(spans)
    assert len(view.span.options) == len(spans)
    logs = wb.logs.search(trace_id=trace_id, start=view.range()[0], end=view.range()[1])
    assert len(view.logs_table) == len(logs)


def test_services_view_on_the_demo(wb) -> None:
    view = wb.view.services()
    assert view.error_message == ""
    start, end = view.range()
    deps = wb.traces.dependencies(start=start, end=end)
    nodes = next(t for t in view.map.live.data if t.name == "services")
    assert set(nodes.text) == set(deps["parent"]) | set(deps["child"])


def _sent_x(pane) -> list:
    """The x values of every trace as the pane sends them to the browser."""
    from hxb_lab.widgets._plot import PLOTLY_MIMETYPE

    spec = pane.widget.outputs[0]["data"][PLOTLY_MIMETYPE]
    return [value for trace in spec["data"] for value in trace["x"]]


def test_live_time_axes_are_sent_as_dates_not_nanoseconds(wb) -> None:
    metrics = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname", "gpu"], step="5m", last="1h")
    inference = wb.view.inference()
    inference.deployments_table.select_where("name", "llm-chat")
    start, end = metrics.range()
    for pane in (metrics.chart, inference.latency, inference.throughput, inference.gpu):
        sent = _sent_x(pane)
        assert sent, "the chart shows something"
        # plotly.js reads ISO text as dates; integers (nanoseconds) became 1.79e18 on the axis
        assert all(isinstance(x, str) for x in sent), sent[:3]
        stamps = pd.to_datetime(sent, utc=True)
        assert stamps.min() >= pd.Timestamp(start) - pd.Timedelta("10min")
        assert stamps.max() <= pd.Timestamp(end) + pd.Timedelta("10min")
    assert metrics.figure() is metrics.chart.figure  # the report's figure keeps its own data
    assert metrics.chart.figure.data[0].x.dtype.kind == "M"


def test_the_slowest_traces_are_the_slowest_of_the_whole_range(wb) -> None:
    view = wb.view.traces(service="api-gateway", last="1h")
    start, end = view.range()
    every = wb.traces.search(service="api-gateway", start=start, end=end, limit=10_000)
    assert len(every) > 200  # more than the newest few minutes' worth
    shown = view.traces_table.frame
    assert list(shown["duration_ms"]) == sorted(shown["duration_ms"], reverse=True)
    slowest = every.sort_values("duration_ms", ascending=False).head(len(shown))
    assert list(shown["trace_id"]) == list(slowest["trace_id"])
    with pytest.raises(hx.HxbLabError, match="order: 'fastest' is not one of"):
        wb.traces.search(service="api-gateway", order="fastest")


def test_the_metrics_view_marks_the_cordon_and_the_rollout_under_its_chart(wb) -> None:
    view = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], step="5m", last="6h")
    assert view.error_message == ""
    lane = {t.name: t for t in view.figure().data if t.yaxis == "y2"}
    assert set(lane) == {"cordon", "rollout"}  # the scale-ups of the demo are older
    (rollout,) = lane["rollout"].text
    assert rollout.startswith("InferenceService assistant/llm-chat: ")
    assert "(by argocd-application-controller)" in rollout
    assert pd.Timestamp(lane["rollout"].x[0], tz="UTC") == pd.Timestamp(
        wb.now() - scenario.CANARY_ROLLOUT.starts_before_now
    )
    assert pd.Timestamp(lane["cordon"].x[0]) < pd.Timestamp(lane["rollout"].x[0])
    assert "2 cluster changes" in _text(view.summary.value)
    plain = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", by=["Hostname"], last="6h", changes=False)
    assert not [t for t in plain.figure().data if t.yaxis == "y2"]
