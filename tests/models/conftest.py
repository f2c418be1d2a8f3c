"""Fixtures of the model registry tests: the session's real `mlflow server` holding the
scenario's models, next to a snapshot of the simulated cluster serving them, and the demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hxb_lab.config import KubeConfig, MlflowConfig, Profile
from hxb_lab.demo.cluster.simulate import simulate
from hxb_lab.workbench import Workbench
from tests.support.mlflow_server import NOW, MlflowServer


@pytest.fixture(scope="session")
def platform_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small simulated platform as a snapshot of cluster ``prod``."""
    root = tmp_path_factory.mktemp("platform")
    simulate("small", 7, NOW).write_snapshot(root / "prod")
    return root


@pytest.fixture
def server_wb(mlflow_server: MlflowServer, platform_snapshot: Path) -> Iterator[Workbench]:
    """A workbench on the registry server (REST) and the simulated cluster's snapshot."""
    profile = Profile(
        name="registry",
        kube=KubeConfig(snapshot=str(platform_snapshot)),
        mlflow=MlflowConfig(mlflow_server.url),
    )
    wb = Workbench(profile)
    yield wb
    wb.close()


@pytest.fixture
def demo_wb(demo_env: Path) -> Iterator[Workbench]:
    import hxb_lab as hx

    wb = hx.connect()
    yield wb
    wb.close()
