"""A copy of the seeded demo platform with `<img src=x onerror=alert(1)>` planted where a
cluster or telemetry puts free text, written in the demo's own formats (the snapshot's
``kubectl get -o json`` lists, the OpenTelemetry exporter's Parquet tables), so the views
read it through the real layers.

Planted: a GPU pod's name, a label value and an annotation (key and value), a warning
event about it, a node's name, an annotation of the pod's InferenceService and another
one's failure message; the pod's name in its DCGM and Triton metrics and a Triton
``version`` label; a copy of a recent trace whose gateway service, root operation and a
root span attribute are the string, with its RED rollup rows and trace-id lookup row
(derived by chDB with the store's own SQL, values bound), and an error log line whose
body carries it. Nothing here writes to the shared demo home: it is copied first.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.widgets.rendering import EVIL

TRACE_ID = "0badc0de" * 4


@dataclass(frozen=True)
class Hostile:
    home: Path  # an HXB_LAB_HOME
    namespace: str  # of the hostile pod
    node: str  # where the hostile pod runs
    model: str  # the deployment the hostile pod serves
    failing: str  # the deployment whose failure message is hostile
    trace_id: str


# ----------------------------------------------------------------------------- cluster
def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1))


def _gpu_pod(pods: dict[str, Any], triton: set[str]) -> dict[str, Any]:
    """A running predictor pod holding GPUs whose Triton metrics exist."""
    for item in pods["items"]:
        meta, spec = item["metadata"], item["spec"]
        gpus = sum(
            int((c.get("resources") or {}).get("requests", {}).get("nvidia.com/gpu", 0))
            for c in spec["containers"]
        )
        if gpus and item["status"].get("phase") == "Running" and meta["name"] in triton:
            return dict(item)
    raise AssertionError("the demo has no running GPU pod with Triton metrics")


def _poison_cluster(snapshot: Path, pod: dict[str, Any], now: datetime) -> None:
    pods = _read(snapshot / "pods.json")
    for item in pods["items"]:
        if item["metadata"]["uid"] == pod["metadata"]["uid"]:
            meta = item["metadata"]
            meta["name"] = EVIL
            meta["labels"] = {**meta["labels"], "hxb.io/team": EVIL}
            meta["annotations"] = {"hxb.io/owner-note": EVIL, EVIL: "a hostile key"}
    _write(snapshot / "pods.json", pods)

    nodes = _read(snapshot / "nodes.json")
    spare = json.loads(json.dumps(nodes["items"][0]))  # a copy of the first (CPU) node
    spare["metadata"]["name"] = EVIL
    spare["metadata"]["uid"] = "00000000-0000-4000-8000-00000000e111"
    nodes["items"].append(spare)
    _write(snapshot / "nodes.json", nodes)

    events = _read(snapshot / "events.json")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    events["items"].append(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": "hostile.0001",
                "namespace": pod["metadata"]["namespace"],
                "uid": "00000000-0000-4000-8000-00000000e222",
                "creationTimestamp": stamp,
            },
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": EVIL,
                "namespace": pod["metadata"]["namespace"],
            },
            "type": "Warning",
            "reason": "Unhealthy",
            "message": f"Readiness probe failed: {EVIL}",
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": "kubelet", "host": pod["spec"]["nodeName"]},
        }
    )
    _write(snapshot / "events.json", events)


def _poison_deployments(snapshot: Path, model: str) -> str:
    """An annotation on `model`'s InferenceService (a rollout's diff shows it), and the
    failure message of the first failing one, whose name is returned."""
    path = snapshot / "inferenceservices.serving.kserve.io.json"
    isvcs = _read(path)
    for item in isvcs["items"]:
        if item["metadata"]["name"] == model:
            item["metadata"]["annotations"]["hxb.io/owner-note"] = EVIL
    for item in isvcs["items"]:
        conditions = item["status"].get("conditions") or []
        ready = next((c for c in conditions if c["type"] == "Ready"), None)
        if ready is not None and ready["status"] == "False":
            ready["message"] = f"failed to load model: {EVIL}"
            _write(path, isvcs)
            return str(item["metadata"]["name"])
    raise AssertionError("the demo has no failing InferenceService")


# ----------------------------------------------------------------------------- metrics
def _rename_pod_in_metrics(telemetry: Path, old: str) -> None:
    """The pod is EVIL in every metric that names it; its Triton series get a hostile
    ``version`` label too (a Prometheus label value may hold any text)."""
    for table in ("metrics_gauge", "metrics_sum", "metrics_histogram"):
        path = telemetry / table / "metrics.parquet"
        data = pq.read_table(path)
        labels = data.column("Attributes").combine_chunks()
        keys, values = labels.keys, labels.items
        row_of = pc.list_parent_indices(pa.ListArray.from_arrays(labels.offsets, keys))
        mine = pc.and_(pc.equal(keys, "pod"), pc.equal(values, old))
        rows = pc.unique(pc.filter(row_of, mine))
        if len(rows) == 0:
            continue
        hit = pc.and_(
            pc.is_in(row_of, value_set=rows), pc.is_in(keys, pa.array(["pod", "version"]))
        )
        relabelled = pa.MapArray.from_arrays(
            labels.offsets, keys, pc.if_else(hit, EVIL, values)
        ).cast(labels.type)
        index = data.schema.get_field_index("Attributes")
        pq.write_table(data.set_column(index, data.schema.field(index), relabelled), path)


def _triton_pods(telemetry: Path) -> set[str]:
    data = pq.read_table(telemetry / "metrics_sum" / "metrics.parquet", columns=["Attributes"])
    labels = data.column("Attributes").combine_chunks()
    pods = pc.filter(labels.items, pc.equal(labels.keys, "pod"))
    return set(pc.unique(pods).to_pylist())


# ----------------------------------------------------------------------------- traces
def _append(path: Path, rows: list[dict[str, Any]], sort_by: str | None = None) -> None:
    """Rows added to a Parquet file in the file's own schema."""
    data = pq.read_table(path)
    extra = pa.Table.from_pylist(rows, schema=data.schema)
    merged = pa.concat_tables([data, extra]).combine_chunks()
    if sort_by is not None:
        merged = merged.sort_by(sort_by)
    pq.write_table(merged, path)


def _hour_file(folder: Path, stamp: Any) -> Path:
    return folder / f"{stamp:%Y%m%d%H}.parquet"


def _hostile_trace(telemetry: Path, now: datetime) -> list[dict[str, Any]]:
    """A copy of a recent multi-service trace under `TRACE_ID`, its root span hostile."""
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for hour in sorted((telemetry / "traces").glob("*.parquet"))[-2:]:  # the last half hour
        for span in pq.read_table(hour).to_pylist():
            by_trace.setdefault(span["TraceId"], []).append(span)
    for trace in by_trace.values():
        root = next((s for s in trace if not s["ParentSpanId"]), None)
        services = {s["ServiceName"] for s in trace}
        if root is None or len(services) < 3:
            continue
        age = (now - root["Timestamp"]).total_seconds()
        if not 300 <= age <= 1800:
            continue
        copied = []
        for span in trace:
            span = dict(span, TraceId=TRACE_ID)
            if span["ServiceName"] == root["ServiceName"]:  # the gateway: it calls the others
                span["ServiceName"] = EVIL
                span["ResourceAttributes"] = [
                    (k, EVIL if k == "service.name" else v) for k, v in span["ResourceAttributes"]
                ]
            if not span["ParentSpanId"]:
                span["SpanName"] = EVIL
                span["SpanAttributes"] = [*span["SpanAttributes"], ("hxb.note", EVIL)]
            copied.append(span)
        return copied
    raise AssertionError("the demo has no recent trace across three services")


def _poison_traces(telemetry: Path, now: datetime, scratch: Path) -> None:
    import clickhouse_connect

    from hxb_lab.otel_tables import ROLLUP, ROLLUP_SELECT, structure

    spans = _hostile_trace(telemetry, now)
    for hour in {f"{s['Timestamp']:%Y%m%d%H}" for s in spans}:
        mine = [s for s in spans if f"{s['Timestamp']:%Y%m%d%H}" == hour]
        _append(telemetry / "traces" / f"{hour}.parquet", mine)

    # The RED rollup and the trace-id lookup, derived by chDB with the store's own SQL.
    alone = scratch / "hostile-spans.parquet"
    schema = pq.read_schema(_hour_file(telemetry / "traces", spans[0]["Timestamp"]))
    pq.write_table(pa.Table.from_pylist(spans, schema=schema), alone)
    client = clickhouse_connect.get_client(dsn="chdb://memory")
    source = "file({spans:String}, Parquet, {structure:String})"
    params = {"spans": str(alone), "structure": structure("traces")}
    rollup = client.query_arrow(
        "SELECT * REPLACE (toDateTime64(Minute, 3, 'UTC') AS Minute) FROM ("
        f"{ROLLUP_SELECT.format(source=source)})",
        params,
    )
    _append(telemetry / ROLLUP / "rollup.parquet", rollup.to_pylist())
    lookup = client.query_arrow(
        "SELECT TraceId, toDateTime64(toDateTime(min(Timestamp)), 3, 'UTC') AS Start, "
        "toDateTime64(toDateTime(max(Timestamp)), 3, 'UTC') AS End "
        f"FROM {source} GROUP BY TraceId",
        params,
    )
    _append(
        telemetry / "traces_trace_id_ts" / "lookup.parquet", lookup.to_pylist(), sort_by="TraceId"
    )

    root = next(s for s in spans if not s["ParentSpanId"])
    stamp = root["Timestamp"]
    _append(
        _hour_file(telemetry / "logs", stamp),
        [
            {
                "Timestamp": stamp,
                "TimestampTime": stamp,
                "TraceId": TRACE_ID,
                "SpanId": root["SpanId"],
                "TraceFlags": 1,
                "SeverityText": "ERROR",
                "SeverityNumber": 17,
                "ServiceName": EVIL,
                "Body": f"request failed: {EVIL}",
                "ResourceAttributes": root["ResourceAttributes"],
                "ScopeName": "hxb.logging",
                "LogAttributes": [("hxb.note", EVIL)],
            }
        ],
    )


# ----------------------------------------------------------------------------- the home
def hostile_home(demo_home: Path, target: Path) -> Hostile:
    """Copy the seeded demo home `demo_home` to `target` and plant the hostile string."""
    shutil.copytree(demo_home / "demo", target / "demo")
    manifest = json.loads((target / "demo" / "manifest.json").read_text())
    now = datetime.fromisoformat(manifest["now"])
    snapshot = next(p for p in (target / "demo" / "cluster").iterdir() if p.is_dir())
    telemetry = target / "demo" / "telemetry"

    pod = _gpu_pod(_read(snapshot / "pods.json"), _triton_pods(telemetry))
    _poison_cluster(snapshot, pod, now)
    model = pod["metadata"]["labels"]["serving.kserve.io/inferenceservice"]
    failing = _poison_deployments(snapshot, model)
    _rename_pod_in_metrics(telemetry, pod["metadata"]["name"])
    _poison_traces(telemetry, now, target)
    return Hostile(
        home=target,
        namespace=pod["metadata"]["namespace"],
        node=pod["spec"]["nodeName"],
        model=model,
        failing=failing,
        trace_id=TRACE_ID,
    )
