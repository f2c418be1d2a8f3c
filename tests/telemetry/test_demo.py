"""Telemetry on the embedded demo: default time ranges end at the seed time, names match the
cluster snapshot, and every facade answers with no configuration."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd

import hxb_lab as hx


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
