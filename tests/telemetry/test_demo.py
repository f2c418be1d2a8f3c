"""Telemetry on the embedded demo: default time ranges end at the seed time, names match the
cluster snapshot, and every facade answers with no configuration."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.demo import scenario


def test_default_ranges_end_at_the_demo_clock(demo_env: Path) -> None:
    wb = hx.connect()
    now = pd.Timestamp(wb.now())
    services = wb.traces.services()
    assert {"api-gateway", "llm-chat", "feature-store"} <= set(services.service)
    explicit = wb.traces.services(now - timedelta(hours=1), now)
    pd.testing.assert_frame_equal(services, explicit)
    relative = wb.traces.services("-2h", "now")
    assert (relative.calls.sum()) > services.calls.sum()
    logs = wb.logs.search(limit=10)
    assert (logs.timestamp <= now + timedelta(seconds=5)).all()
    metrics = wb.metrics.inference_throughput()
    assert metrics.timestamp.max() <= now and metrics.timestamp.min() >= now - timedelta(
        hours=1, minutes=1
    )
    wb.close()


def test_gpu_metrics_name_the_snapshot_nodes_and_pods(demo_env: Path) -> None:
    cluster = demo_env / "demo" / "cluster" / "demo"
    nodes = json.loads((cluster / "nodes.json").read_text())["items"]
    gpu_nodes = {
        n["metadata"]["name"]
        for n in nodes
        if "nvidia.com/gpu.product" in n["metadata"].get("labels", {})
    }
    pods = {p["metadata"]["name"] for p in json.loads((cluster / "pods.json").read_text())["items"]}
    wb = hx.connect()
    util = wb.metrics.gpu_utilization(step=3600)
    assert set(util.Hostname) == gpu_nodes
    assert set(util.pod) - {""} <= pods
    hot = wb.alerts.active().set_index("alertname").loc["GPUTemperatureHigh"]
    assert hot.labels["Hostname"] in gpu_nodes
    served = wb.traces.search(service="llm-chat", limit=5).trace_id
    resource = wb.traces.get(served.iloc[0]).query("service == 'llm-chat'").resource.iloc[0]
    assert resource["k8s.pod.name"] in pods
    wb.close()


def test_a_day_of_metrics_at_one_minute_steps(demo_env: Path) -> None:
    """The views' "last 24h": every GPU has a point every minute of the day."""
    wb = hx.connect()
    now = pd.Timestamp(wb.now())
    util = wb.metrics.query(
        "DCGM_FI_DEV_GPU_UTIL", by=["Hostname", "gpu"], step="1m", start=now - timedelta(days=1),
        end=now,
    )  # fmt: skip
    per_gpu = util.groupby(["Hostname", "gpu"]).size()
    assert len(per_gpu) >= 50
    assert per_gpu.min() >= 24 * 60
    assert util.timestamp.min() <= now - timedelta(hours=23, minutes=59)
    rate = wb.metrics.inference_throughput(start=now - timedelta(days=1), end=now, step="1h")
    assert rate.timestamp.min() <= now - timedelta(hours=23)
    wb.close()


def test_the_forgotten_notebook_holds_its_gpu_idle(demo_env: Path) -> None:
    """DCGM and the snapshot agree: the notebook's pod holds an A100 on its node, and the
    GPU stays 0-3 % busy all day while its kernel keeps 30 % of the memory."""
    notebook = scenario.FORGOTTEN_NOTEBOOK
    pods = json.loads((demo_env / "demo" / "cluster" / "demo" / "pods.json").read_text())
    pod = next(p for p in pods["items"] if p["metadata"]["name"] == notebook.pod)
    wb = hx.connect()
    now = pd.Timestamp(wb.now())
    day = {"start": now - timedelta(days=1), "end": now, "step": "1m"}
    util = wb.metrics.gpu_utilization(**day)
    held = util[util.pod == notebook.pod]
    assert set(held.namespace) == {notebook.workspace}
    assert set(held.Hostname) == {pod["spec"]["nodeName"]}
    assert set(held.modelName) == {"NVIDIA A100-SXM4-40GB"} and held.gpu.nunique() == 1
    assert len(held) >= 24 * 60 and held.value.max() <= 3 and held.value.mean() < 2
    memory = wb.metrics.gpu_memory(**day)
    used = memory[memory.pod == notebook.pod].value / 2**20  # MiB
    assert used.mean() == pytest.approx(0.3 * 40960, rel=0.01)
    wb.close()
