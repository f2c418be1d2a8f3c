"""Fixtures of the Kubernetes layer: the simulated platform as a snapshot and in a real
API server, and workbenches reading either."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hxb_lab.config import KubeConfig, Profile
from hxb_lab.demo.cluster.simulate import Platform, simulate
from hxb_lab.workbench import Workbench

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

# The simulated platform's "now" is the real present: reads such as events(since="1h")
# are relative to the clock, so a fixed date would make them fail a day later.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
LIVE_PREFIX = "eq-"  # the simulated platform's names in the shared API server


def snapshot_workbench(path: Path, **kube: Any) -> Workbench:
    return Workbench(Profile(name="snapshot", kube=KubeConfig(snapshot=str(path), **kube)))


def live_workbench(plane: ControlPlane, context: str = "admin", **kube: Any) -> Workbench:
    kube.setdefault("contexts", (context,))
    config = KubeConfig(kubeconfig=str(plane.kubeconfig_path), **kube)
    return Workbench(Profile(name="live", kube=config))


@pytest.fixture(scope="session")
def sim_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated platform as a snapshot: ``<root>/demo/*.json``."""
    root = tmp_path_factory.mktemp("snapshot")
    simulate("small", 7, NOW).write_snapshot(root / "demo")
    return root


@pytest.fixture
def snap(sim_snapshot: Path) -> Workbench:
    return snapshot_workbench(sim_snapshot)


@dataclass(frozen=True)
class LivePlatform:
    platform: Platform
    snapshot: Path  # the same simulated platform, written as a snapshot


@pytest.fixture(scope="session")
def live_platform(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> LivePlatform:
    """The small platform simulated into the session's API server (names prefixed ``eq-``)."""
    from hxb_lab.clients.kube import open_kube

    platform = simulate("small", 7, NOW, prefix=LIVE_PREFIX)
    profile = live_workbench(control_plane).profile
    clients = open_kube(profile)
    try:
        platform.apply(clients.contexts[0])
    finally:
        clients.close()
    target = tmp_path_factory.mktemp("simulated") / "admin"
    platform.write_snapshot(target)
    return LivePlatform(platform, target)


@pytest.fixture
def live(control_plane: ControlPlane, live_platform: LivePlatform) -> Workbench:
    return live_workbench(control_plane)
