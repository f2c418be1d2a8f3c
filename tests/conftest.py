"""Shared fixtures: an isolated HXB Lab environment per test, and the seeded demo platform.

Components are real (see DESIGN.md). `require()` skips a test whose component is missing
on a developer's machine, and fails it under CI=true, where nothing may be skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane
    from tests.support.mlflow_server import MlflowServer
    from tests.support.node import Node
    from tests.support.opensearch import OpenSearch

pytest_plugins = ["pytest_jupyter.jupyter_server"]

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip (locally) or fail (CI=true) when a component the test needs is missing."""
    if condition:
        return
    message = f"{what} is missing: run `make test`, which installs it"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of an executable, or skip/fail as `require` does."""
    path = shutil.which(name)
    require(path is not None, f"the tool {name!r}")
    assert path is not None
    return path


@pytest.fixture(autouse=True)
def hxb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HXB_LAB_HOME and config directory, and no profile overrides."""
    home = tmp_path / "hxb-home"
    monkeypatch.setenv("HXB_LAB_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HXB_LAB_CONFIG", raising=False)
    monkeypatch.delenv("HXB_LAB_PROFILE", raising=False)
    return home


@pytest.fixture
def profiles_file(tmp_path: Path) -> Path:
    """Where the default profiles file lives for this test (under XDG_CONFIG_HOME)."""
    path = tmp_path / "config" / "hxb-lab" / "profiles.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HXB_LAB_HOME with the demo platform seeded once per session (size small)."""
    home = tmp_path_factory.mktemp("demo-home")
    previous = os.environ.get("HXB_LAB_HOME")
    os.environ["HXB_LAB_HOME"] = str(home)
    try:
        from hxb_lab import demo

        demo.seed("small")
    finally:
        if previous is None:
            os.environ.pop("HXB_LAB_HOME", None)
        else:
            os.environ["HXB_LAB_HOME"] = previous
    return home


@pytest.fixture
def demo_env(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point this test at the session's seeded demo platform."""
    monkeypatch.setenv("HXB_LAB_HOME", str(demo_home))
    return demo_home


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A real etcd + kube-apiserver on loopback with the platform's CRDs, for the session.

    Its kubeconfig (`control_plane.kubeconfig_path`) has the contexts ``admin`` and
    ``restricted``. Built from Go modules by `make test`; skipped locally (failed under
    CI=true) when it cannot be built or started.
    """
    from tests.support.controlplane import ControlPlane, ControlPlaneError

    try:
        plane = ControlPlane().start()
    except ControlPlaneError as exc:
        require(False, f"the test Kubernetes control plane ({str(exc).splitlines()[0]})")
        raise  # pragma: no cover - require() skipped or failed
    try:
        plane.install_crds()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def node() -> Iterator[Node]:
    """A node that runs pods: a control plane of its own (Node authorization, ServiceAccount
    admission) with containerd, kubelet, kube-scheduler and kube-controller-manager, and the
    platform's CRDs (`tests.support.node`). Started only by the tests that ask for it;
    everything it made on the host is removed at the end of the session."""
    from tests.support.controlplane import ControlPlane, ControlPlaneError
    from tests.support.node import Node, NodeError

    require(os.geteuid() == 0, "root (the test node runs containers)")
    try:
        plane = ControlPlane(pods=True).start()
    except ControlPlaneError as exc:
        require(False, f"the test Kubernetes control plane ({str(exc).splitlines()[0]})")
        raise  # pragma: no cover - require() skipped or failed
    try:
        plane.install_crds()
        try:
            started = Node(plane).start()
        except NodeError as exc:
            require(False, f"the test node ({exc})")
            raise  # pragma: no cover
        try:
            yield started
        finally:
            started.stop()
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """The session's real `mlflow server` on loopback (SQLite backend store), shared by
    every area: it holds the demo scenario's registered models (experiments
    ``training/<model>``); runbook runs go to experiments ``runbooks/<name>``. Tests keep
    to their own names (see `tests.support.mlflow_server`)."""
    from tests.support.mlflow_server import MLFLOW, start_mlflow, stop

    require(MLFLOW.exists(), "the mlflow command")
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-server"), scenario_models=True)
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture(scope="session")
def opensearch() -> Iterator[OpenSearch]:
    """The session's real OpenSearch 2.19 on loopback (single node, empty at the start):
    assembled from Maven Central by ``tools/build-opensearch.sh`` and run on Java 17, as
    ``nobody`` when the tests run as root. Tests keep to indices of their own names."""
    from tests.support.opensearch import start_opensearch

    require_tool("java")
    require_tool("mvn")
    server = start_opensearch()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kube_namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, uniquely named namespace for one test, deleted afterwards."""
    import re
    import uuid

    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false")
