"""Snapshot directories: layouts users produce with kubectl, several clusters, broken files,
and the demo platform the simulator seeds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab import demo
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster.simulate import simulate
from hxb_lab.errors import ClusterError, ConfigError
from tests.cluster.conftest import NOW, snapshot_workbench


def test_several_clusters_give_one_frame_with_a_cluster_column(
    sim_snapshot: Path, tmp_path: Path
) -> None:
    for name in ("eu-1", "eu-2"):
        shutil.copytree(sim_snapshot / "demo", tmp_path / name)
    wb = snapshot_workbench(tmp_path)
    nodes = wb.cluster.nodes()
    assert nodes.groupby("cluster").size().to_dict() == {"eu-1": 10, "eu-2": 10}
    alloc = wb.cluster.gpu_allocation()
    assert set(alloc["cluster"]) == {"eu-1", "eu-2"}
    assert list(wb.cluster.contexts()["cluster"]) == ["eu-1", "eu-2"]


def test_a_directory_of_lists_is_one_cluster_named_after_it(
    sim_snapshot: Path, tmp_path: Path
) -> None:
    target = tmp_path / "prod-eu"
    shutil.copytree(sim_snapshot / "demo", target)
    assert set(snapshot_workbench(target).cluster.nodes()["cluster"]) == {"prod-eu"}


def test_any_kubectl_output_file_is_read(sim_snapshot: Path, tmp_path: Path) -> None:
    """`kubectl get nodes,pods -A -o json > everything.json` is a List of mixed kinds."""
    source = sim_snapshot / "demo"
    items = []
    for name in ("nodes.json", "pods.json", "namespaces.json"):
        items += json.loads((source / name).read_text())["items"]
    (tmp_path / "everything.json").write_text(json.dumps({"kind": "List", "items": items}))
    wb = snapshot_workbench(tmp_path)
    assert len(wb.cluster.nodes()) == 10
    pods = wb.cluster.pods()
    assert len(pods) == 150
    assert pods["workspace"].notna().any()
    assert wb.cluster.workloads().empty  # no workload lists in it: empty, not an error


def test_a_broken_file_is_named(sim_snapshot: Path, tmp_path: Path) -> None:
    target = tmp_path / "c1"
    shutil.copytree(sim_snapshot / "demo", target)
    (target / "pods.json").write_text('{"kind": "List", "items": [')
    wb = snapshot_workbench(tmp_path)
    with pytest.raises(ClusterError, match=r"snapshot file .*/c1/pods.json is not valid JSON") as e:
        wb.cluster.pods()
    assert "kubectl get pods -A -o json > pods.json" in str(e.value)
    shutil.copy(sim_snapshot / "demo" / "pods.json", target / "pods.json")
    (target / "nodes.json").write_text('{"kind": "Pod", "spec": {}}')
    with pytest.raises(ClusterError, match=r"c1/nodes.json is not a Kubernetes List"):
        wb.cluster.nodes()


def test_a_missing_snapshot_directory_says_how_to_make_one(tmp_path: Path) -> None:
    wb = snapshot_workbench(tmp_path / "nowhere")
    with pytest.raises(ClusterError, match=r"snapshot directory .*nowhere does not exist"):
        wb.cluster.nodes()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClusterError, match=r"holds no \*\.json lists"):
        snapshot_workbench(tmp_path / "empty").cluster.pods()


def test_an_invalid_selector_is_refused_before_reading(snap: hx.Workbench) -> None:
    with pytest.raises(ClusterError, match=re.escape("invalid label selector 'app in (a'")):
        snap.cluster.pods(selector="app in (a")


def test_snapshot_watch_yields_the_objects_once(snap: hx.Workbench) -> None:
    events = list(snap.cluster.watch("nodes"))
    assert len(events) == 10
    assert {e.type for e in events} == {"ADDED"}
    assert events[0].cluster == "demo"
    assert events[0].kind == "Node"
    assert list(snap.cluster.watch("pods", initial=False)) == []


def test_the_simulator_is_deterministic_and_sized() -> None:
    one, two = simulate("small", 3, NOW), simulate("small", 3, NOW)
    assert one.objects == two.objects
    assert simulate("small", 4, NOW).objects != one.objects
    medium = simulate("medium", 7, NOW)
    assert len(medium["nodes"]) == 40
    assert len(medium["pods"]) == 1000
    created = [p["metadata"]["creationTimestamp"] for p in medium["pods"]]
    assert max(created) <= NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(ConfigError, match="unknown platform size 'huge'"):
        simulate("huge")


def test_the_demo_profile_reads_the_seeded_snapshot(demo_env: Path) -> None:
    wb = hx.connect()
    snapshot = demo_env / "demo" / "cluster" / scenario.CLUSTER
    assert (snapshot / "nodes.json").is_file()
    assert (snapshot / "inferenceservices.serving.kserve.io.json").is_file()
    assert demo.seeders()[0][0] == "cluster"
    nodes = wb.cluster.nodes()
    assert set(nodes["cluster"]) == {scenario.CLUSTER}
    assert "h100-0" in set(nodes["name"])  # the HOT_GPU incident's node
    isvcs = json.loads((snapshot / "inferenceservices.serving.kserve.io.json").read_text())
    names = {i["metadata"]["name"] for i in isvcs["items"]}
    assert names == {d.name for d in scenario.DEPLOYMENTS if d.kind == "kserve"}
    chat = next(i for i in isvcs["items"] if i["metadata"]["name"] == "llm-chat")
    traffic = chat["status"]["components"]["predictor"]["traffic"]
    assert sorted(t["percent"] for t in traffic) == [20, 80]
    tagger = next(i for i in isvcs["items"] if i["metadata"]["name"] == "image-tagger")
    ready = {c["type"]: c["status"] for c in tagger["status"]["conditions"]}["Ready"]
    assert ready == "False"
    # Ages are measured from the demo's clock, not from the wall clock.
    assert (nodes["age"] == wb.now() - nodes["created"]).all()
