"""The frames of `wb.cluster` on the simulated platform (snapshot transport): pinned
columns and dtypes, and the facts of the demo's story an SRE would look for."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hxb_lab.demo import scenario
from hxb_lab.errors import ParameterError
from hxb_lab.workbench import Workbench
from tests.cluster.conftest import NOW, snapshot_workbench

TS = "datetime64[ns, UTC]"
COLUMNS: dict[str, dict[str, str]] = {
    "nodes": {
        "cluster": "str",
        "name": "str",
        "ready": "bool",
        "unschedulable": "bool",
        "roles": "str",
        "pool": "str",
        "instance_type": "str",
        "zone": "str",
        "cpu_capacity": "float64",
        "cpu_allocatable": "float64",
        "cpu_requested": "float64",
        "memory_capacity": "int64",
        "memory_allocatable": "int64",
        "memory_requested": "int64",
        "gpu_product": "str",
        "gpu_memory_mb": "float64",
        "gpu_capacity": "int64",
        "gpu_allocatable": "int64",
        "gpu_requested": "int64",
        "gpu_free": "int64",
        "pods": "int64",
        "taints": "str",
        "kubelet_version": "str",
        "container_runtime": "str",
        "created": TS,
        "age": "timedelta64[ns]",
    },
    "pods": {
        "cluster": "str",
        "namespace": "str",
        "workspace": "str",
        "name": "str",
        "phase": "str",
        "reason": "str",
        "ready": "bool",
        "restarts": "int64",
        "node": "str",
        "cpu_requests": "float64",
        "memory_requests": "int64",
        "gpu_requests": "int64",
        "mig_requests": "int64",
        "owner_kind": "str",
        "owner_name": "str",
        "workload_kind": "str",
        "workload_name": "str",
        "last_termination_reason": "str",
        "started": TS,
        "created": TS,
        "labels": "object",
        "annotations": "object",
    },
    "workloads": {
        "cluster": "str",
        "namespace": "str",
        "workspace": "str",
        "kind": "str",
        "name": "str",
        "status": "str",
        "desired": "int64",
        "ready": "int64",
        "available": "int64",
        "updated": "int64",
        "cpu_requests": "float64",
        "memory_requests": "int64",
        "gpu_requests": "int64",
        "gpus_total": "int64",
        "images": "str",
        "owner_kind": "str",
        "owner_name": "str",
        "schedule": "str",
        "last_schedule": TS,
        "created": TS,
    },
    "events": {
        "cluster": "str",
        "namespace": "str",
        "time": TS,
        "first_seen": TS,
        "type": "str",
        "reason": "str",
        "object_kind": "str",
        "object_name": "str",
        "message": "str",
        "count": "int64",
        "source": "str",
    },
    "workspaces": {
        "cluster": "str",
        "workspace": "str",
        "namespaces": "str",
        "pods": "int64",
        "running": "int64",
        "pending": "int64",
        "cpu_requested": "float64",
        "memory_requested": "int64",
        "gpu_requested": "int64",
        **{
            f"quota_{r}_{k}": "float64"
            for r in ("cpu", "memory", "gpu", "pods")
            for k in ("hard", "used")
        },
        "created": TS,
    },
    "gpus": {
        "cluster": "str",
        "node": "str",
        "pool": "str",
        "ready": "bool",
        "unschedulable": "bool",
        "product": "str",
        "memory_mb": "float64",
        "gpu_count": "int64",
        "capacity": "int64",
        "allocatable": "int64",
        "requested": "int64",
        "free": "int64",
        "mig_strategy": "str",
        "mig_devices": "int64",
        "mig_requested": "int64",
        "mig_profiles": "str",
        "driver_version": "str",
        "cuda_version": "str",
    },
    "contexts": {
        "cluster": "str",
        "transport": "str",
        "server": "str",
        "user": "str",
        "namespace": "str",
    },
}
ALLOCATION_VALUES = {
    "gpu_product": "str",
    "gpus_allocated": "int64",
    "gpus_pending": "int64",
    "mig_allocated": "int64",
    "pods": "int64",
    "share": "float64",
}
ALLOCATION_KEYS = {
    "workspace": ["cluster", "workspace"],
    "namespace": ["cluster", "namespace", "workspace"],
    "workload": ["cluster", "namespace", "workspace", "workload_kind", "workload_name"],
    "pod": [
        "cluster",
        "namespace",
        "workspace",
        "workload_kind",
        "workload_name",
        "pod",
        "node",
        "phase",
    ],
}


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


@pytest.mark.parametrize("read", sorted(COLUMNS))
def test_every_frame_has_its_documented_columns(snap: Workbench, read: str) -> None:
    frame = getattr(snap.cluster, read)()
    assert dtypes(frame) == COLUMNS[read]
    assert len(frame) > 0
    doc = getattr(type(snap.cluster), read).__doc__
    for column in COLUMNS[read]:
        assert column.split("_")[0] in doc, f"{read}() docstring does not mention {column}"


@pytest.mark.parametrize("by", sorted(ALLOCATION_KEYS))
def test_gpu_allocation_columns(snap: Workbench, by: str) -> None:
    frame = snap.cluster.gpu_allocation(by)
    expected = dict.fromkeys(ALLOCATION_KEYS[by], "str") | ALLOCATION_VALUES
    assert dtypes(frame) == expected


def test_an_empty_read_keeps_the_columns(snap: Workbench) -> None:
    frame = snap.cluster.pods(namespace="no-such-namespace")
    assert frame.empty
    assert dtypes(frame) == COLUMNS["pods"]
    assert snap.cluster.pods(workspace="nobody").empty


def test_nodes_show_capacity_gpus_and_trouble(snap: Workbench) -> None:
    nodes = snap.cluster.nodes().set_index("name")
    assert len(nodes) == 10
    assert set(nodes["cluster"]) == {"demo"}
    h100 = nodes.loc["h100-0"]
    assert h100["gpu_product"] == scenario.H100[0]
    assert h100["gpu_memory_mb"] == scenario.H100[1]
    assert (h100["gpu_capacity"], h100["gpu_allocatable"]) == (8, 8)
    # llm-chat: 3 stable replicas + 1 canary, 2 H100 each, packed on the first H100 node.
    assert (h100["gpu_requested"], h100["gpu_free"]) == (8, 0)
    assert h100["cpu_capacity"] == 208.0
    assert h100["memory_capacity"] == 1872 * 2**30
    assert h100["pool"] == "h100"
    assert h100["instance_type"] == "a3-highgpu-8g"
    assert h100["taints"] == "nvidia.com/gpu=present:NoSchedule"
    assert not nodes.loc["cpu-2", "ready"]
    assert "node.kubernetes.io/unreachable:NoExecute" in nodes.loc["cpu-2", "taints"]
    assert nodes.loc["a100-1", "unschedulable"]
    assert math.isnan(nodes.loc["cpu-0", "gpu_memory_mb"])
    assert nodes["kubelet_version"].str.startswith("v1.").all()


def test_gpus_list_products_and_mig_profiles(snap: Workbench) -> None:
    gpus = snap.cluster.gpus().set_index("node")
    assert set(gpus["product"]) == {scenario.H100[0], scenario.A100[0], scenario.L4[0]}
    assert "cpu-0" not in gpus.index
    mig = gpus.loc["a100-mig-0"]
    assert mig["mig_strategy"] == "mixed"
    assert mig["mig_profiles"] == "1g.5gb=14, 3g.20gb=4"
    assert (mig["gpu_count"], mig["capacity"], mig["mig_devices"]) == (8, 4, 18)
    assert mig["mig_requested"] >= 1  # a notebook holds a 1g.5gb slice
    assert (gpus["free"] == gpus["allocatable"] - gpus["requested"]).all()


def test_pods_show_status_as_kubectl_does(snap: Workbench) -> None:
    pods = snap.cluster.pods()
    assert len(pods) == 150
    tagger = pods[pods["name"].str.startswith("image-tagger-predictor-")]
    assert len(tagger) == 2
    assert set(tagger["reason"]) == {"CrashLoopBackOff"}
    assert (~tagger["ready"]).all()
    assert (tagger["restarts"] >= 5).all()
    assert set(tagger["workload_name"]) == {"image-tagger-predictor-00009-deployment"}
    oom = pods[pods["last_termination_reason"] == "OOMKilled"]
    assert list(oom["name"].str.split("-").str[:2].str.join("-")) == ["embedding-cache"]
    pending = pods[pods["phase"] == "Pending"]
    assert list(pending["reason"]) == ["Unschedulable"]
    assert pending["node"].isna().all()
    assert pending.iloc[0]["gpu_requests"] == 8
    assert pending.iloc[0]["started"] is pd.NaT
    assert set(pods.loc[pods["phase"] == "Failed", "reason"]) == {"Error"}


def test_pods_carry_their_labels_and_annotations_as_dicts(
    sim_snapshot: Path, tmp_path: Path
) -> None:
    target = tmp_path / "demo"
    shutil.copytree(sim_snapshot / "demo", target)
    listing = json.loads((target / "pods.json").read_text())
    first = listing["items"][0]["metadata"]
    first["annotations"] = {"hxb.io/owner": "ml-platform", "prometheus.io/scrape": "true"}
    (target / "pods.json").write_text(json.dumps(listing))
    pods = snapshot_workbench(tmp_path).cluster.pods().set_index(["namespace", "name"])
    row = pods.loc[(first["namespace"], first["name"])]
    assert row["labels"] == first["labels"]
    assert row["annotations"] == {"hxb.io/owner": "ml-platform", "prometheus.io/scrape": "true"}
    others = pods.drop(index=(first["namespace"], first["name"]))
    assert all(isinstance(a, dict) for a in others["annotations"])  # none: an empty dict
    assert all(isinstance(labels, dict) for labels in pods["labels"])


def test_pods_filter_by_namespace_selector_and_workspace(snap: Workbench) -> None:
    chat = snap.cluster.pods(selector="serving.kserve.io/inferenceservice=llm-chat")
    assert len(chat) == 4
    assert set(chat["workspace"]) == {"assistant"}
    versions = chat.groupby("workload_name")["gpu_requests"].sum().to_dict()
    assert versions == {
        "llm-chat-predictor-00007-deployment": 6,
        "llm-chat-predictor-00008-deployment": 2,
    }
    in_search = snap.cluster.pods(workspace="search")
    assert set(in_search["namespace"]) == {"search"}
    both = snap.cluster.pods(namespace=["search", "risk"])
    assert set(both["namespace"]) == {"search", "risk"}
    assert len(snap.cluster.pods(namespace="search", selector="component=predictor")) == 6


def test_workloads_report_health_and_gpus(snap: Workbench) -> None:
    work = snap.cluster.workloads().set_index(["namespace", "name"])
    tagger = work.loc[("vision", "image-tagger-predictor-00009-deployment")]
    assert (tagger["status"], tagger["ready"], tagger["desired"]) == ("Unavailable", 0, 2)
    assert tagger["owner_kind"] == "Revision"
    chat = work.loc[("assistant", "llm-chat-predictor-00007-deployment")]
    assert (chat["status"], chat["gpu_requests"], chat["gpus_total"]) == ("Ready", 2, 6)
    jobs = work[work["kind"] == "Job"]["status"].to_dict()
    assert jobs[("vision", "ocr-eval")] == "Failed"
    assert jobs[("search", f"embed-refresh-{NOW:%Y%m%d}")] == "Complete"
    assert jobs[("assistant", "finetune-llm-chat-v9")] == "Running"
    assert set(work["kind"]) == {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def test_events_since_and_warnings(snap: Workbench) -> None:
    recent = snap.cluster.events(since="1h", warnings_only=True)
    assert (recent["type"] == "Warning").all()
    assert recent["time"].is_monotonic_increasing
    reasons = set(recent["reason"])
    assert {"BackOff", "FailedScheduling", "ModelLoadFailed", "Unhealthy"} <= reasons
    everything = snap.cluster.events()
    assert len(everything) > len(recent)
    assert {"NodeNotReady", "CanaryRollout", "BackoffLimitExceeded"} <= set(everything["reason"])
    with pytest.raises(ParameterError, match="since: 'yesterday' is not a time or an age"):
        snap.cluster.events(since="yesterday")


def test_workspaces_show_usage_against_quota(snap: Workbench) -> None:
    spaces = snap.cluster.workspaces().set_index("workspace")
    assert list(spaces.index) == sorted(scenario.WORKSPACES)
    assistant = spaces.loc["assistant"]
    # The assistant workspace has used all its GPUs: the fine-tune job waits for them.
    assert assistant["quota_gpu_used"] == assistant["quota_gpu_hard"] == 20
    assert (assistant["gpu_requested"], assistant["pending"]) == (20, 1)
    assert (spaces["quota_cpu_used"] <= spaces["quota_cpu_hard"]).all()
    assert list(spaces["cpu_requested"]) == pytest.approx(list(spaces["quota_cpu_used"]), abs=1e-3)


def test_gpu_allocation_by_workspace_and_workload(snap: Workbench) -> None:
    by_ws = snap.cluster.gpu_allocation().set_index("workspace")
    assert by_ws.loc["assistant", "gpus_allocated"] == 12
    assert by_ws.loc["assistant", "gpus_pending"] == 8
    assert by_ws["gpus_allocated"].is_monotonic_decreasing
    total = snap.cluster.gpus()["allocatable"].sum()
    assert by_ws.loc["search", "share"] == pytest.approx(
        by_ws.loc["search", "gpus_allocated"] / total
    )
    by_pod = snap.cluster.gpu_allocation(by="pod")
    assert by_pod["gpus_allocated"].sum() == snap.cluster.gpus()["requested"].sum()
    with pytest.raises(ParameterError, match="by: 'team' is not one of workspace"):
        snap.cluster.gpu_allocation(by="team")


def test_contexts_of_a_snapshot(snap: Workbench, sim_snapshot: Path) -> None:
    contexts = snap.cluster.contexts()
    assert contexts.to_dict("records")[0]["server"] == str(sim_snapshot / "demo")
    assert list(contexts["transport"]) == ["snapshot"]
