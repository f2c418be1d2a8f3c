"""`wb.cluster.watch()` against a real API server: changes, bookmarks, 410 Gone, and an API
server that stops and comes back."""

from __future__ import annotations

import json
import queue
import threading
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from hxb_lab.cluster import ChangeEvent
from tests.cluster.conftest import live_workbench

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube


def make_pod(plane: ControlPlane, namespace: str, name: str) -> None:
    plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "watched"}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        }
    )


class Follower:
    """Consumes a watch in a thread, so the test can act and then wait for an event."""

    def __init__(self, events: Iterator[ChangeEvent]) -> None:
        self.events = events
        self.seen: queue.Queue[ChangeEvent | BaseException] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.events:
                self.seen.put(event)
        except BaseException as exc:  # surfaced by next()
            self.seen.put(exc)

    def next(self, timeout: float = 30.0) -> ChangeEvent:
        item = self.seen.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def until(self, kind: str, name: str, timeout: float = 60.0) -> ChangeEvent:
        while True:
            event = self.next(timeout)
            if event.type == kind and event.name == name:
                return event


def test_watch_reports_existing_objects_then_changes(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    make_pod(control_plane, kube_namespace, "first")
    wb = live_workbench(control_plane)
    events = wb.cluster.watch("pods", namespace=kube_namespace, selector="app=watched", timeout=30)
    follow = Follower(events)
    added = follow.next()
    assert (added.type, added.name, added.kind, added.cluster) == ("ADDED", "first", "Pod", "admin")
    make_pod(control_plane, kube_namespace, "second")
    assert follow.until("ADDED", "second").namespace == kube_namespace
    control_plane.kubectl(
        "delete", "pod", "first", "-n", kube_namespace, "--wait=false", check=True
    )
    deleted = follow.until("DELETED", "first")
    assert int(deleted.resource_version) > int(added.resource_version)


def compact_etcd(plane: ControlPlane) -> None:
    """Compact etcd to its current revision, as the API server does every few minutes."""

    def call(method: str, body: dict[str, object]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{plane.etcd_url}/v3/kv/{method}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    revision = call("range", {"key": "Lw=="})["header"]["revision"]
    call("compaction", {"revision": revision})


def test_watch_relists_when_its_resource_version_is_too_old(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    """Resuming from a revision the server no longer keeps gets 410 Gone: the watch lists
    again and reports what it had not seen, instead of failing."""
    make_pod(control_plane, kube_namespace, "kept")
    pod = control_plane.request("GET", f"/api/v1/namespaces/{kube_namespace}/pods/kept")
    version = pod["metadata"]["resourceVersion"]
    make_pod(control_plane, kube_namespace, "later")
    compact_etcd(control_plane)
    control_plane.restart_apiserver()  # its new watch cache starts after the compaction
    wb = live_workbench(control_plane)
    events = wb.cluster.watch(
        "pods", namespace=kube_namespace, resource_version=version, timeout=20
    )
    follow = Follower(events)
    seen = {follow.next().name, follow.next().name}
    # A watch from `version` would not report "kept" (it existed then): only a relist does.
    assert seen == {"kept", "later"}


def test_watch_survives_an_api_server_restart(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    wb = live_workbench(control_plane)
    events = wb.cluster.watch("pods", namespace=kube_namespace, timeout=90, bookmarks=True)
    follow = Follower(events)
    make_pod(control_plane, kube_namespace, "before")
    follow.until("ADDED", "before")
    control_plane.stop_apiserver()
    control_plane.start_apiserver()
    make_pod(control_plane, kube_namespace, "after")
    after = follow.until("ADDED", "after", timeout=60)
    assert after.namespace == kube_namespace
