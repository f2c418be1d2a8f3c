"""The live transport against a real kube-apiserver: the same frames as the snapshot,
pagination, RBAC, unreachable servers, bad kubeconfigs, and the CLI's snapshot."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import yaml

from hxb_lab.clients.kube import GoneError, KubeContext
from hxb_lab.cluster import PartialReadWarning
from hxb_lab.config import KubeConfig, Profile
from hxb_lab.errors import ClusterError, ClusterUnavailableError, ConfigError, ForbiddenError
from hxb_lab.workbench import Workbench
from tests.cluster.conftest import LIVE_PREFIX, LivePlatform, live_workbench, snapshot_workbench
from tests.support.controlplane import RESTRICTED_USER

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube

#: Compared between transports: each frame's key, and the rows of the simulated platform.
READS = {
    "nodes": ["name"],
    "pods": ["namespace", "name"],
    "workloads": ["namespace", "kind", "name"],
    "events": ["namespace", "object_name", "reason", "time"],
    "workspaces": ["workspace"],
    "gpus": ["node"],
}


def ours(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the simulated platform's rows (the API server is shared with other tests)."""
    for column in ("namespace", "name", "node", "workspace"):
        if column in frame.columns:
            keep = frame[column].str.startswith(LIVE_PREFIX) | (frame[column] == "default")
            if column == "namespace" and "object_kind" in frame.columns:
                keep &= ~((frame[column] == "default") & (frame["object_kind"] != "Node"))
                keep &= frame["object_name"].str.startswith(LIVE_PREFIX) | (
                    frame[column] != "default"
                )
            return frame[keep]
    return frame


def comparable(frame: pd.DataFrame, key: list[str], drop: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    return frame.sort_values(key).reset_index(drop=True)


@pytest.mark.parametrize("read", sorted(READS))
def test_live_frames_equal_the_simulated_snapshot(
    live: Workbench, live_platform: LivePlatform, read: str
) -> None:
    """The same platform read live and from its simulated snapshot gives the same frame,
    except creation times (the API server stamps its own) and the cluster's name."""
    drop = ("cluster", "created", "age")
    got = comparable(ours(getattr(live.cluster, read)()), READS[read], drop)
    want = comparable(
        getattr(snapshot_workbench(live_platform.snapshot).cluster, read)(), READS[read], drop
    )
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want)


def test_cli_snapshot_of_a_live_cluster_reads_back_identically(
    control_plane: ControlPlane, live: Workbench, live_platform: LivePlatform, tmp_path: Path
) -> None:
    cli = Path(sys.executable).parent / "hxb-lab"
    out = subprocess.run(
        [
            str(cli),
            "cluster",
            "snapshot",
            "--kubeconfig",
            str(control_plane.kubeconfig_path),
            "--context",
            "admin",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "admin/pods.json" in out.stdout
    offline = snapshot_workbench(tmp_path)
    for read, key in READS.items():
        if read == "nodes":
            continue  # ages move with the clock
        got = comparable(getattr(offline.cluster, read)(), key, ())
        want = comparable(getattr(live.cluster, read)(), key, ())
        pd.testing.assert_frame_equal(got, want)
    nodes = comparable(offline.cluster.nodes(), ["name"], ("age",))
    pd.testing.assert_frame_equal(nodes, comparable(live.cluster.nodes(), ["name"], ("age",)))


def test_live_pods_carry_their_labels_and_annotations(
    control_plane: ControlPlane, live: Workbench, kube_namespace: str
) -> None:
    labels = {"app": "scorer", "hxb.io/team": "risk"}
    annotations = {"hxb.io/owner": "ml-platform", "note": "<b>from the cluster</b>"}
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "scorer-0",
                "namespace": kube_namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        }
    )
    pods = live.cluster.pods(namespace=kube_namespace)
    assert list(pods["name"]) == ["scorer-0"]
    assert pods.iloc[0]["labels"] == labels
    assert pods.iloc[0]["annotations"] == annotations


def test_lists_are_paginated(live: Workbench, live_platform: LivePlatform) -> None:
    source = live.cluster.sources()[0]
    context: KubeContext = source.context  # type: ignore[attr-defined]
    pages = list(context.list_pages("/api/v1/pods", limit=40))
    assert len(pages) >= 4
    assert all(len(p["items"]) <= 40 for p in pages)
    source.page_size = 25  # type: ignore[attr-defined]
    small_pages = live.cluster.pods()
    source.page_size = 500  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(small_pages, live.cluster.pods())


class ExpiringContinueContext(KubeContext):
    """A fake: the real server, except that the first `continue` token is answered with
    410 Gone, as a server whose etcd compacted the list's revision does. (The test server
    serves continue tokens from its watch-cache snapshots, so it cannot expire one.)"""

    expired = False

    def raw(self, path: str, params: Any = (), what: Any = None) -> bytes:
        if not self.expired and any(k == "continue" for k, _ in params):
            self.expired = True
            raise GoneError("The provided continue parameter is too old")
        return super().raw(path, params, what)


def test_an_expired_continue_token_relists_without_duplicates(
    live: Workbench, live_platform: LivePlatform
) -> None:
    real = live.cluster.sources()[0].context  # type: ignore[attr-defined]
    fake = ExpiringContinueContext(real.info, real._api, real.timeout_s)
    path = f"/api/v1/namespaces/{LIVE_PREFIX}platform/pods"
    names = [i["metadata"]["name"] for p in fake.list_pages(path, limit=3) for i in p["items"]]
    assert fake.expired
    expected = [i["metadata"]["name"] for p in real.list_pages(path) for i in p["items"]]
    assert sorted(names) == sorted(expected)
    assert len(set(names)) == len(names)


def test_a_restricted_user_reads_only_its_namespaces(
    control_plane: ControlPlane, live_platform: LivePlatform
) -> None:
    granted = f"{LIVE_PREFIX}search"
    control_plane.grant_namespace_access(granted, create_namespace=False)
    wb = live_workbench(control_plane, "restricted", namespace=granted)
    with pytest.warns(PartialReadWarning) as caught:
        pods = wb.cluster.pods()
    messages = [str(w.message) for w in caught]
    assert any(
        f"user 'hxb-restricted' may not list pods cluster-wide on 'restricted': read "
        f"namespace(s) '{granted}' only" in m
        for m in messages
    ), messages
    assert any("may not list namespaces" in m for m in messages)
    assert set(pods["namespace"]) == {granted}
    assert len(pods) > 5
    with pytest.raises(ForbiddenError) as denied:
        wb.cluster.nodes()
    assert str(denied.value).startswith("user 'hxb-restricted' may not list nodes cluster-wide")
    with (
        pytest.warns(PartialReadWarning, match="the workspace column is empty"),
        pytest.raises(ForbiddenError, match=f"may not list pods in namespace '{LIVE_PREFIX}risk'"),
    ):
        wb.cluster.pods(namespace=f"{LIVE_PREFIX}risk")


def test_a_namespace_bound_user_reads_its_workspace(
    control_plane: ControlPlane, live_platform: LivePlatform
) -> None:
    """A user bound to one namespace by RBAC may not list namespaces; asking for its
    workspace returns the pods that asking for its namespace does."""
    granted = f"{LIVE_PREFIX}search"
    control_plane.grant_namespace_access(granted, create_namespace=False)
    wb = live_workbench(control_plane, "restricted", namespace=granted)
    with pytest.warns(PartialReadWarning):
        by_namespace = wb.cluster.pods(namespace=granted)
    assert len(by_namespace) > 5

    # The namespace's labels are not readable either: its name is taken for the workspace.
    with pytest.warns(PartialReadWarning) as caught:
        by_workspace = wb.cluster.pods(workspace=granted)
    assert sorted(by_workspace["name"]) == sorted(by_namespace["name"])
    assert set(by_workspace["workspace"]) == {granted}
    assert any(
        f"nor read namespace '{granted}': took it for workspace '{granted}'" in str(w.message)
        for w in caught
    )

    # May get its namespace (a Role in it can allow that): the workspace comes from the label.
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"namespace": granted}}
    control_plane.apply(
        {**role, "kind": "Role", "metadata": {**role["metadata"], "name": "get-own-namespace"},
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]}
    )  # fmt: skip
    control_plane.apply(
        {**role, "kind": "RoleBinding",
         "metadata": {**role["metadata"], "name": "get-own-namespace"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "get-own-namespace"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                       "name": RESTRICTED_USER}]}
    )  # fmt: skip
    try:
        with pytest.warns(PartialReadWarning) as caught:
            labelled = wb.cluster.pods(workspace=granted)
        assert sorted(labelled["name"]) == sorted(by_namespace["name"])
        assert set(labelled["workspace"]) == {granted}
        messages = [str(w.message) for w in caught]
        assert any(f"the workspace column covers namespace(s) '{granted}' only" in m
                   for m in messages), messages  # fmt: skip
        assert not any("took it for workspace" in m for m in messages)
        with (
            pytest.warns(PartialReadWarning),
            pytest.raises(
                ForbiddenError, match=f"may not list pods in namespace '{LIVE_PREFIX}risk'"
            ),
        ):
            wb.cluster.pods(workspace=f"{LIVE_PREFIX}risk")
    finally:
        for kind in ("rolebinding", "role"):
            control_plane.kubectl("delete", kind, "get-own-namespace", "-n", granted)


def test_a_restricted_user_with_no_readable_namespace_gets_the_403(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    wb = live_workbench(control_plane, "restricted", namespace=kube_namespace)
    with pytest.raises(ForbiddenError, match="user 'hxb-restricted' may not list events"):
        wb.cluster.events()


def _kubeconfig_with_server(plane: ControlPlane, server: str, path: Path) -> Path:
    config = yaml.safe_load(plane.kubeconfig_path.read_text())
    config["clusters"][0]["cluster"]["server"] = server
    path.write_text(yaml.safe_dump(config))
    return path


def _workbench(kubeconfig: Path, *contexts: str, timeout: float = 10.0) -> Workbench:
    kube = KubeConfig(kubeconfig=str(kubeconfig), contexts=contexts, request_timeout_s=timeout)
    return Workbench(Profile(name="p", kube=kube))


def test_a_server_that_is_down_is_named_quickly(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = f"https://127.0.0.1:{port}"
    config = _kubeconfig_with_server(control_plane, server, tmp_path / "kubeconfig")
    started = time.monotonic()
    with pytest.raises(ClusterUnavailableError) as down:
        _workbench(config, "admin", timeout=2.0).cluster.pods()
    assert time.monotonic() - started < 5
    assert f"cannot reach the Kubernetes API server {server} (context 'admin')" in str(down.value)
    assert down.value.server == server


def test_a_server_that_hangs_times_out(control_plane: ControlPlane, tmp_path: Path) -> None:
    """A server that accepts connections and never answers (a blackholed load balancer)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        server = f"https://127.0.0.1:{silent.getsockname()[1]}"
        config = _kubeconfig_with_server(control_plane, server, tmp_path / "kubeconfig")
        started = time.monotonic()
        with pytest.raises(ClusterUnavailableError, match="within 1s"):
            _workbench(config, "admin", timeout=1.0).cluster.nodes()
        assert time.monotonic() - started < 6


def test_bad_kubeconfigs_and_contexts_are_named(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    def read(kubeconfig: Path, *contexts: str) -> None:
        _workbench(kubeconfig, *contexts).cluster.pods()

    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [\n  - name: x\n  server: {")
    with pytest.raises(ConfigError, match=r"broken.yaml: not a valid kubeconfig"):
        read(broken)
    with pytest.raises(ConfigError, match=r"missing.yaml: the kubeconfig file does not exist"):
        read(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError) as unknown:
        read(control_plane.kubeconfig_path, "prod-eu")
    assert "unknown context 'prod-eu'" in str(unknown.value)
    assert "contexts defined there: admin, restricted" in str(unknown.value)
    with pytest.raises(ClusterError, match="invalid label selector 'tier in prod'"):
        live_workbench(control_plane).cluster.pods(selector="tier in prod")


def test_a_profile_with_several_contexts_covers_them_all(
    control_plane: ControlPlane, live_platform: LivePlatform, tmp_path: Path
) -> None:
    config = yaml.safe_load(control_plane.kubeconfig_path.read_text())
    twin = dict(config["contexts"][0], name="admin-eu-2")
    config["contexts"].append(twin)
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    wb = _workbench(path, "admin", "admin-eu-2")
    gpus = wb.cluster.gpus()
    counts = ours(gpus).groupby("cluster").size().to_dict()
    assert counts == {"admin": 7, "admin-eu-2": 7}
    contexts = wb.cluster.contexts()
    assert list(contexts["cluster"]) == ["admin", "admin-eu-2"]
    assert set(contexts["server"]) == {control_plane.server_url}
    assert set(contexts["user"]) == {"hxb-admin"}


def test_an_unreachable_cluster_leaves_the_others_readable(
    control_plane: ControlPlane, live_platform: LivePlatform, tmp_path: Path
) -> None:
    """Two contexts, the second one's API server a closed port: the frames hold the first
    cluster's rows, and a warning names the one that did not answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{s.getsockname()[1]}"
    config = yaml.safe_load(control_plane.kubeconfig_path.read_text())
    config["clusters"].append({"name": "eu", "cluster": dict(config["clusters"][0]["cluster"])})
    config["clusters"][-1]["cluster"]["server"] = closed
    config["contexts"].append({"name": "eu-2", "context": {"cluster": "eu", "user": "hxb-admin"}})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    wb = _workbench(path, "admin", "eu-2", timeout=2.0)

    started = time.monotonic()
    with pytest.warns(PartialReadWarning) as caught:
        pods = ours(wb.cluster.pods())
    with pytest.warns(PartialReadWarning, match="cluster 'eu-2' is left out of the frames"):
        gpus = ours(wb.cluster.gpus())  # not waited for again
    assert time.monotonic() - started < 20
    assert set(pods["cluster"]) == set(gpus["cluster"]) == {"admin"}
    assert len(pods) == len(live_platform.platform["pods"]) and len(gpus) == 7
    messages = {str(w.message) for w in caught}
    assert any(
        m.startswith("cluster 'eu-2' is left out of the frames (namespaces not read): cannot "
                     f"reach the Kubernetes API server {closed} (context 'eu-2') within 2s")
        for m in messages
    ), messages  # fmt: skip
    assert all("'admin'" not in m for m in messages)

    # Every cluster silent: the read fails, naming the server.
    with pytest.raises(
        ClusterUnavailableError, match=f"cannot reach the Kubernetes API server {closed}"
    ):
        _workbench(path, "eu-2", timeout=2.0).cluster.pods()
