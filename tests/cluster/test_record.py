"""`hxb-lab record` against the real API server: every change written once, `at()` equal to
what the live read said then, and nothing lost or repeated across a stopped recorder, an
API server restart and a 410 Gone (the watch itself surviving a restart mid-watch is
tests/cluster/test_watch.py's)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from hxb_lab.cli.record import recorder_objects
from hxb_lab.cluster.record import Recording
from hxb_lab.config import ClickHouseConfig, KubeConfig, Profile
from hxb_lab.workbench import Workbench
from tests.cluster.test_watch import compact_etcd, make_pod

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube


def recording_workbench(plane: ControlPlane, store: Path) -> Workbench:
    store.mkdir(exist_ok=True)
    kube = KubeConfig(kubeconfig=str(plane.kubeconfig_path), contexts=("admin",))
    clickhouse = ClickHouseConfig(dsn=f"parquet://{store}")
    return Workbench(Profile(name="recorded", kube=kube, clickhouse=clickhouse))


class Running:
    """A recorder running in a thread until `stop()`."""

    def __init__(self, wb: Workbench, kinds: list[str]) -> None:
        self.recorder = wb.cluster.recorder(kinds, flush_s=0.1)
        self.halt = threading.Event()
        self.result: list[Recording | BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.recorder.watching.wait(30), "the recorder did not start watching"

    def _run(self) -> None:
        try:
            self.result.append(self.recorder.run(stop=self.halt))
        except BaseException as exc:
            self.result.append(exc)

    def stop(self) -> Recording:
        self.halt.set()
        self.thread.join(timeout=30)
        outcome = self.result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def wait_for(
    read: Callable[[], pd.DataFrame], ready: Callable[[pd.DataFrame], bool]
) -> pd.DataFrame:
    """Read until `ready` holds (the recorder writes a batch every 0.1 s)."""
    deadline = time.monotonic() + 30
    while True:
        frame = read()
        if ready(frame) or time.monotonic() > deadline:
            return frame
        time.sleep(0.1)


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return list(frame[["name", "change", "what"]].itertuples(index=False, name=None))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "telemetry"


def test_every_change_is_written_once_and_at_gives_the_frames_of_then(
    control_plane: ControlPlane, kube_namespace: str, store: Path
) -> None:
    wb = recording_workbench(control_plane, store)
    ns = kube_namespace
    running = Running(wb, ["namespaces", "deployments"])

    def history() -> pd.DataFrame:
        return wb.cluster.history(kind="deploy", namespace=ns, start="-10m")

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
            },
        },
    }
    steps = [
        lambda: control_plane.apply(deployment),
        lambda: control_plane.kubectl("scale", "deploy/web", "--replicas=3", "-n", ns, check=True),
        lambda: control_plane.kubectl(
            "set", "image", "deploy/web", "main=busybox:1.37", "-n", ns, check=True
        ),
        lambda: control_plane.kubectl("delete", "deploy/web", "-n", ns, check=True),
    ]
    seen: list[tuple[pd.Timestamp, pd.DataFrame]] = []
    for count, step in enumerate(steps, start=1):
        step()
        changes = wait_for(history, lambda f, n=count: len(f) >= n)  # type: ignore[misc]
        seen.append((changes["time"].iloc[-1], wb.cluster.workloads(namespace=ns)))
    recording = running.stop()
    changes = history()

    assert rows(changes) == [
        ("web", "ADDED", "created"),
        ("web", "MODIFIED", "scale"),
        ("web", "MODIFIED", "rollout"),
        ("web", "DELETED", "deleted"),
    ]
    assert changes["diff"].iloc[1] == {"spec.replicas": [1, 3]}
    assert changes["diff"].iloc[2] == {
        "spec.template.spec.containers[main].image": ["busybox:1.36", "busybox:1.37"]
    }
    assert changes["who"].tolist()[:3] == ["hxb-lab-tests", "kubectl", "kubectl-set"]
    versions = changes["resource_version"].astype(int)
    assert versions.is_monotonic_increasing and versions.is_unique
    assert recording.by_kind.get("Deployment", 0) >= 4

    for moment, live in seen:
        then = wb.cluster.at(moment).workloads(namespace=ns)
        pd.testing.assert_frame_equal(then, live)
    assert seen[-1][1].empty and seen[1][1]["desired"].tolist() == [3]


def test_a_stop_a_restart_and_410_gone_lose_and_repeat_nothing(
    control_plane: ControlPlane, kube_namespace: str, store: Path
) -> None:
    wb = recording_workbench(control_plane, store)
    ns = kube_namespace

    def history() -> pd.DataFrame:
        return wb.cluster.history(kind="pods", namespace=ns, start="-10m")

    running = Running(wb, ["pods"])
    make_pod(control_plane, ns, "a")
    wait_for(history, lambda f: len(f) == 1)
    make_pod(control_plane, ns, "b")
    wait_for(history, lambda f: len(f) == 2)
    running.stop()

    # While nothing records: a deletion, a creation and a change; then the revision the
    # recorder would resume from is compacted away, so its watch gets 410 Gone.
    control_plane.kubectl("delete", "pod", "a", "-n", ns, "--grace-period=0", "--force", check=True)
    make_pod(control_plane, ns, "c")
    control_plane.kubectl("label", "pod", "b", "-n", ns, "tier=gold", check=True)
    compact_etcd(control_plane)
    control_plane.restart_apiserver()

    running = Running(wb, ["pods"])
    changes = wait_for(history, lambda f: len(f) >= 5)
    make_pod(control_plane, ns, "d")  # and the watch after the relist goes on
    changes = wait_for(history, lambda f: len(f) >= 6)
    running.stop()
    changes = history()
    assert rows(changes[:2]) == [("a", "ADDED", "created"), ("b", "ADDED", "created")]
    assert sorted(rows(changes[2:5])) == [
        ("a", "DELETED", "deleted"),
        ("b", "MODIFIED", "metadata"),
        ("c", "ADDED", "created"),
    ]
    assert rows(changes[5:]) == [("d", "ADDED", "created")]
    assert changes["diff"].iloc[2:5].tolist().count({"metadata.labels.tier": [None, "gold"]}) == 1
    # Pods of then: b labelled, c present, a gone.
    now = wb.cluster.at(changes["time"].iloc[4]).pods(namespace=ns)
    assert sorted(now["name"]) == ["b", "c"]
    assert now.set_index("name").loc["b", "labels"]["tier"] == "gold"


def test_the_manifests_may_read_and_watch_but_never_secrets() -> None:
    objects = {o["kind"]: o for o in recorder_objects(Profile(name="prod"))}
    rules = objects["ClusterRole"]["rules"]
    assert {verb for rule in rules for verb in rule["verbs"]} == {"get", "list", "watch"}
    core = next(rule for rule in rules if rule["apiGroups"] == [""])
    assert "pods" in core["resources"] and "secrets" not in core["resources"]
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["hxb-lab", "record"]
    assert objects["Deployment"]["spec"]["replicas"] == 1
