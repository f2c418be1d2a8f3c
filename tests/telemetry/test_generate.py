"""The demo generator: deterministic, real trace trees, a layout that lets filters skip
row groups, the cluster snapshot's names, and the scenario's incidents in the data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from hxb_lab.demo import scenario
from hxb_lab.demo.telemetry.generate import METRICS_WINDOW, WINDOW, generate
from hxb_lab.errors import ConfigError
from tests.telemetry.conftest import Generated, workbench

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def spans(directory: Path) -> pd.DataFrame:
    return pd.read_parquet(directory / "traces")


def test_the_summary_counts_what_was_written(generated: Generated) -> None:
    summary = json.loads((generated.directory / "summary.json").read_text())
    written = sum(
        pq.ParquetFile(p).metadata.num_rows
        for p in (generated.directory / "traces").glob("*.parquet")
    )
    assert summary["spans"] == written
    assert 40_000 < written < 80_000  # "small": well under 200 k spans
    logs = sum(
        pq.ParquetFile(p).metadata.num_rows
        for p in (generated.directory / "logs").glob("*.parquet")
    )
    assert summary["logs"] == logs > 1000
    assert summary["alerts"] == 3
    assert datetime.fromisoformat(summary["end"]) == generated.now
    assert datetime.fromisoformat(summary["start"]) == generated.now - WINDOW
    assert datetime.fromisoformat(summary["metrics_start"]) == generated.now - METRICS_WINDOW
    gauges = pq.read_table(generated.directory / "metrics_gauge", columns=["TimeUnix"])
    first = gauges.column("TimeUnix").to_pandas().min()
    assert first - pd.Timestamp(generated.now - METRICS_WINDOW) < pd.Timedelta(seconds=30)
    points = sum(
        pq.ParquetFile(p).metadata.num_rows
        for kind in ("gauge", "sum", "histogram")
        for p in (generated.directory / f"metrics_{kind}").glob("*.parquet")
    )
    assert summary["metric_points"] == points


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", spans=3000, seed=3, now=NOW)
    again = generate(tmp_path / "b", spans=3000, seed=3, now=NOW)
    generate(tmp_path / "c", spans=3000, seed=4, now=NOW)
    assert (first.spans, first.logs, first.metric_points) == (
        again.spans,
        again.logs,
        again.metric_points,
    )
    a, b, c = (pq.read_table(tmp_path / d / "traces") for d in "abc")
    assert a.equals(b)
    assert not a.equals(c)
    gauges = [pq.read_table(tmp_path / d / "metrics_gauge") for d in "ab"]
    assert gauges[0].equals(gauges[1])


def test_an_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown telemetry size 'huge' \(use one of \['small', 'medium'"
    ):
        generate(tmp_path, size="huge")


def test_traces_are_trees_of_client_and_server_spans(generated: Generated) -> None:
    frame = spans(generated.directory)
    ids = set(zip(frame.TraceId, frame.SpanId, strict=True))
    children = frame[frame.ParentSpanId != ""]
    assert all((t, p) in ids for t, p in zip(children.TraceId, children.ParentSpanId, strict=True))
    roots = frame[frame.ParentSpanId == ""]
    assert roots.TraceId.is_unique and set(roots.ServiceName) == {"api-gateway"}
    assert set(frame.SpanKind) == {"Server", "Client", "Internal", "Producer", "Consumer"}
    # Every server span but the root answers a client (or producer) span of another service.
    by_id = frame.set_index(["TraceId", "SpanId"])
    servers = children[children.SpanKind == "Server"]
    parents = by_id.loc[list(zip(servers.TraceId, servers.ParentSpanId, strict=True))]
    assert set(parents.SpanKind) == {"Client"}
    assert (parents.ServiceName.to_numpy() != servers.ServiceName.to_numpy()).all()
    # Retries: a second attempt follows a failed first one.
    attributes = frame.SpanAttributes.map(dict)
    retried = frame[attributes.map(lambda a: a.get("hxb.retry.attempt") == "2")]
    assert len(retried) > 0
    assert (frame.StatusCode == "Error").sum() > 100
    errors = frame[(frame.StatusCode == "Error") & (frame.SpanKind == "Server")]
    assert all(list(n) == ["exception"] for n in errors["Events.Name"])


def test_files_are_laid_out_so_filters_skip_row_groups(generated: Generated) -> None:
    files = sorted((generated.directory / "traces").glob("*.parquet"))
    assert [f.stem for f in files] == sorted(f.stem for f in files)
    assert 6 <= len(files) <= 7  # one per hour of the six-hour window
    for path in files:
        table = pq.read_table(path, columns=["Timestamp", "ServiceName"]).to_pandas()
        hour = datetime.strptime(path.stem, "%Y%m%d%H").replace(tzinfo=UTC)
        assert table.Timestamp.min() >= pd.Timestamp(hour)
        assert table.Timestamp.max() < pd.Timestamp(hour + timedelta(hours=1))
        minutes = table.Timestamp.dt.floor("min")
        keys = list(zip(minutes, table.ServiceName, table.Timestamp, strict=True))
        assert keys == sorted(keys), f"{path.name} is not sorted by minute, service, time"
        meta = pq.ParquetFile(path).metadata
        stats = meta.row_group(0).column(0).statistics
        assert stats is not None and stats.has_min_max
    lookup = pq.read_table(generated.directory / "traces_trace_id_ts").to_pandas()
    assert list(lookup.TraceId) == sorted(lookup.TraceId)
    assert lookup.TraceId.is_unique and (lookup.End >= lookup.Start).all()


def _snapshot(home: Path) -> None:
    cluster = home / "cluster" / scenario.CLUSTER
    cluster.mkdir(parents=True)
    nodes = [
        {
            "metadata": {
                "name": name,
                "labels": {"nvidia.com/gpu.product": product, "nvidia.com/gpu.count": "2"},
            },
            "status": {"capacity": {"nvidia.com/gpu": "2"}},
        }
        for name, product in (("node-h100-a", scenario.H100[0]), ("node-l4-a", scenario.L4[0]))
    ]
    pods = [
        {
            "metadata": {
                "name": "chat-7-abcde",
                "namespace": "assistant",
                "labels": {
                    "serving.kserve.io/inferenceservice": "llm-chat",
                    "hxb.io/model-version": "7",
                },
            },
            "spec": {
                "nodeName": "node-h100-a",
                "containers": [{"resources": {"limits": {"nvidia.com/gpu": "2"}}}],
            },
            "status": {"phase": "Running"},
        }
    ]
    (cluster / "nodes.json").write_text(json.dumps({"kind": "List", "items": nodes}))
    (cluster / "pods.json").write_text(json.dumps({"kind": "List", "items": pods}))


def test_gpu_nodes_and_pods_come_from_the_cluster_snapshot(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    _snapshot(home)
    generate(home / "telemetry", spans=2000, now=NOW, home=home)
    gauges = pd.read_parquet(home / "telemetry" / "metrics_gauge")
    labels = gauges.Attributes.map(dict)
    assert set(labels.map(lambda a: a["Hostname"])) == {"node-h100-a", "node-l4-a"}
    used = labels[labels.map(lambda a: a.get("pod") == "chat-7-abcde")]
    assert {a["gpu"] for a in used} == {"0", "1"}
    assert {a["modelName"] for a in used} == {"NVIDIA H100 80GB HBM3"}
    traces = spans(home / "telemetry")
    pods = traces[traces.ServiceName == "llm-chat"].ResourceAttributes.map(
        lambda a: dict(a)["k8s.pod.name"]
    )
    assert "chat-7-abcde" in set(pods)


def test_without_a_snapshot_the_fleet_follows_the_scenario(generated: Generated) -> None:
    gauges = pd.read_parquet(generated.directory / "metrics_gauge", columns=["Attributes"])
    hosts = set(gauges.Attributes.map(lambda a: dict(a)["Hostname"]))
    assert {"gpu-h100-0", "gpu-a100-0", "gpu-l4-0"} <= hosts


def test_the_scenario_incidents_are_in_the_data(generated: Generated) -> None:
    wb = workbench(generated.directory)
    at = generated.at
    # llm-chat's p95 is about 2.5 times worse since the canary rollout two hours ago.
    before = wb.traces.operations("llm-chat", at(300), at(150))
    after = wb.traces.operations("llm-chat", at(110), generated.now)
    ratio = after.p95_ms.iloc[0] / before.p95_ms.iloc[0]
    assert 1.8 < ratio < 4, ratio
    canary = wb.traces.search(
        attributes={"hxb.model.version": "8"}, start=at(360), end=generated.now, limit=10_000
    )
    assert len(canary) > 20 and canary.start.min() >= pd.Timestamp(at(121))
    # The feature store failed about 30 % of calls for ten minutes, fifty minutes ago.
    burst = wb.traces.services(at(50), at(40)).set_index("service").loc["feature-store"]
    calm = wb.traces.services(at(35), generated.now).set_index("service").loc["feature-store"]
    assert burst.error_rate > 0.15 and calm.error_rate < 0.02
    # image-tagger has served nothing for the last half hour: the router's calls fail.
    down = wb.traces.dependencies(at(25), generated.now).set_index(["parent", "child"])
    assert (
        down.loc[("router", "image-tagger")].errors
        == down.loc[("router", "image-tagger")].calls
        > 0
    )
    # One H100 runs hot and saturated for the last ninety minutes.
    util = wb.metrics.gpu_utilization(start=at(60), end=generated.now, step=600)
    hottest = util.groupby(["Hostname", "gpu"]).value.min().sort_values()
    assert hottest.index[-1] == ("gpu-h100-0", "1") and hottest.iloc[-1] > 95
    assert hottest.iloc[-2] < 95
    wb.close()


def test_seed_demo_reports_one_line(demo_env: Path) -> None:
    manifest = json.loads((demo_env / "demo" / "manifest.json").read_text())
    part = next(p for p in manifest["parts"] if p["name"] == "telemetry")
    assert re.fullmatch(
        r"[\d.]+ [kM]? ?spans, [\d.]+ [kM]? ?log lines, [\d.]+ [kM]? ?metric points, 3 alerts",
        part["summary"],
    )
    assert (demo_env / "demo" / "telemetry" / "alerts.parquet").exists()


def test_every_span_the_canary_served_names_its_version(generated: Generated) -> None:
    """The canary's server span, the steps under it and the router's call to it all say
    version 8; the stable pods' spans say 7."""
    frame = pd.read_parquet(
        generated.directory / "traces",
        columns=["TraceId", "ServiceName", "SpanKind", "ResourceAttributes", "SpanAttributes"],
    )
    resource = frame.ResourceAttributes.map(dict)
    attributes = frame.SpanAttributes.map(dict)
    chat = scenario.CANARY_ROLLOUT.target
    own = frame[frame.ServiceName == chat].assign(
        pod=resource.map(lambda a: a["k8s.pod.name"]),
        version=resource.map(lambda a: a["service.version"]),
        model_version=attributes.map(lambda a: a.get("hxb.model.version")),
    )
    canary = own.pod.str.contains("canary")
    assert canary.any() and (~canary).any()
    assert set(own[canary].version) == set(own[canary].model_version) == {"8"}
    assert set(own[~canary].version) == set(own[~canary].model_version) == {"7"}
    assert set(own[canary].SpanKind) == {"Server", "Internal"}
    served = set(own[canary].TraceId)
    calls = frame[
        (frame.SpanKind == "Client") & attributes.map(lambda a: a.get("peer.service") == chat)
    ]
    versions = calls.SpanAttributes.map(lambda a: dict(a)["hxb.model.version"])
    assert set(versions[calls.TraceId.isin(served)]) == {"8"}
    assert set(versions[~calls.TraceId.isin(served)]) == {"7"}


def _gauge(generated: Generated, metric: str, columns: list[str]) -> pd.DataFrame:
    """The raw rows of one gauge metric, as written."""
    table = pq.read_table(
        generated.directory / "metrics_gauge",
        columns=columns,
        filters=[("MetricName", "=", metric)],
    )
    return table.to_pandas()


def test_the_canary_gpu_carries_its_pod_only_since_the_rollout(generated: Generated) -> None:
    gauges = _gauge(generated, "DCGM_FI_DEV_GPU_UTIL", ["Attributes", "TimeUnix", "Value"])
    labels = gauges.Attributes.map(dict)
    pod = labels.map(lambda a: a.get("pod", ""))
    canary = gauges[pod.str.contains("canary")]
    rollout = pd.Timestamp(generated.now - scenario.CANARY_ROLLOUT.starts_before_now)
    assert len(canary) > 0 and canary.TimeUnix.min() >= rollout
    uuid = labels[canary.index[0]]["UUID"]
    same_gpu = gauges[labels.map(lambda a: a["UUID"] == uuid)]
    before = same_gpu[same_gpu.TimeUnix < rollout]
    assert len(before) > 0 and (before.Value == 0).all()  # free (no pod label) and idle
    assert not before.Attributes.map(lambda a: "pod" in dict(a)).any()


def test_the_forgotten_notebook_is_in_the_derived_fleet_too(generated: Generated) -> None:
    """Without a snapshot, the fleet still has the scenario's idle GPU holder."""
    notebook = scenario.FORGOTTEN_NOTEBOOK
    gauges = _gauge(generated, "DCGM_FI_DEV_GPU_UTIL", ["Attributes", "Value"])
    labels = gauges.Attributes.map(dict)
    util = gauges[labels.map(lambda a: a.get("pod") == notebook.pod)]
    assert len(util) == 24 * 60 * 2  # every 30 s for a day
    assert util.Value.between(0, 3).all()
    assert {labels[i]["container"] for i in util.index} == {"notebook"}
    assert {labels[i]["namespace"] for i in util.index} == {notebook.workspace}


def test_each_runtime_exports_the_metrics_its_documentation_names(generated: Generated) -> None:
    """Triton's models, MLServer's (the Seldon models), TorchServe's and KServe's own model
    server with its queue-proxy: each deployment's pods carry its runtime's metric names."""
    found: dict[str, set[str]] = {}
    for kind in ("sum", "histogram"):
        table = pq.read_table(
            generated.directory / f"metrics_{kind}", columns=["MetricName", "Attributes"]
        ).to_pandas()
        pods = table.Attributes.map(lambda a: dict(a).get("pod", dict(a).get("Hostname", "")))
        for metric, pod in set(zip(table.MetricName, pods, strict=True)):
            found.setdefault(pod.rsplit("-", 1)[0] if pod else "", set()).add(str(metric))

    def names(deployment: str) -> set[str]:
        return {m for pod, ms in found.items() if pod.startswith(deployment) for m in ms}

    assert {"model_infer_request_success", "model_infer_request_failure"} <= names("query-intent")
    assert {"model_infer_request_success", "model_infer_request_failure"} <= names("credit-limit")
    assert {
        "ts_inference_requests_total", "ts_inference_latency_microseconds", "Requests5XX"
    } <= names("aml-graph")  # fmt: skip
    assert {"revision_request_count", "request_predict_seconds"} <= names("fraud-score")
    assert {
        "nv_inference_request_success", "nv_inference_first_response_histogram_ms"
    } <= names("ocr")  # fmt: skip
    assert not any(m.startswith("nv_") for m in names("fraud-score") | names("aml-graph"))
    predict = pq.read_table(
        generated.directory / "metrics_histogram",
        columns=["ExplicitBounds"],
        filters=[("MetricName", "=", "request_predict_seconds")],
    ).to_pandas()
    assert max(predict.ExplicitBounds.iloc[0]) == 5.0  # seconds, as KServe's histogram
