"""The server records the cluster history (``c.HxbLabApp.record_history``): a Jupyter server
in-process with a profile on the real test API server; a Deployment created and scaled
shows in ``wb.cluster.history()``, and the server's stop ends the recorder and its watches."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from hxb_lab.config import load_profile
from hxb_lab.server._history import HISTORY_SETTING, THREAD_NAME, HistoryRecording
from hxb_lab.workbench import Workbench

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube


@pytest.fixture
def recorded_profile(profiles_file: Path, control_plane: ControlPlane, tmp_path: Path) -> str:
    """The active profile ``recorded``: the test API server, telemetry in Parquet files."""
    store = tmp_path / "telemetry"
    store.mkdir()
    profiles_file.write_text(
        'default = "recorded"\n\n[profiles.recorded]\n'
        f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'clickhouse = {{ dsn = "parquet://{store}" }}\n'
    )
    return "recorded"


@pytest.fixture
def jp_server_config(recorded_profile: str) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"hxb_lab": True}},
        "HxbLabApp": {"run_workers": 1, "record_history": True, "record_kinds": ["deployments"]},
    }


def _recorder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("record ", THREAD_NAME))]


async def test_the_server_records_the_history_and_its_stop_ends_the_recorder(
    jp_serverapp: Any, control_plane: ControlPlane, kube_namespace: str
) -> None:
    history = jp_serverapp.web_app.settings[HISTORY_SETTING]
    assert isinstance(history, HistoryRecording)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while history.recorder is None or not history.recorder.watching.is_set():
        assert history.alive, "the server's recorder ended before it watched"
        assert loop.time() < deadline, "the server's recorder did not start watching"
        await asyncio.sleep(0.05)

    ns = kube_namespace
    control_plane.apply(
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}}}
    )  # fmt: skip
    control_plane.kubectl("scale", "deploy/web", "--replicas=3", "-n", ns, check=True)

    with Workbench(load_profile("recorded")) as wb:
        frame = pd.DataFrame()
        while loop.time() < deadline + 30:
            frame = wb.cluster.history(kind="deploy", namespace=ns, start="-10m")
            if len(frame) >= 2:
                break
            await asyncio.sleep(0.2)
    assert list(frame["name"]) == ["web", "web"], frame
    assert list(frame["change"]) == ["ADDED", "MODIFIED"], frame
    assert frame["what"].iloc[1] == "scale", frame

    started = time.monotonic()
    for extension in jp_serverapp.extension_manager.extension_apps["hxb_lab"]:
        await extension.stop_extension()
    assert not history.alive
    assert _recorder_threads() == []
    assert time.monotonic() - started < 10, "the recorder took long to stop"


def _ended(history: HistoryRecording) -> None:
    history.start()
    assert history.stop(), "the recorder did not end"
    assert history.recorder is None


def test_a_snapshot_profile_is_not_recorded_and_one_line_says_why(
    profiles_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profiles_file.write_text(
        f'default = "offline"\n[profiles.offline]\nkube = {{ snapshot = "{tmp_path}" }}\n'
    )
    with caplog.at_level("INFO", logger="hxb_lab.server"):
        _ended(HistoryRecording())
    lines = [r.getMessage() for r in caplog.records if r.name == "hxb_lab.server"]
    assert lines == [
        f"hxb_lab: not recording the cluster history: profile 'offline' reads the snapshot "
        f"{tmp_path}, which does not change"
    ]


def test_a_recorder_that_fails_is_one_line_with_secrets_masked(
    profiles_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-kubeconfig"
    profiles_file.write_text(
        f'default = "gone"\n[profiles.gone]\nkube = {{ kubeconfig = "{missing}" }}\n'
        'clickhouse = { dsn = "clickhouse://reader:s3cret-pass@127.0.0.1:1/otel" }\n'
    )
    with caplog.at_level("INFO", logger="hxb_lab.server"):
        _ended(HistoryRecording())
    lines = [r.getMessage() for r in caplog.records if r.name == "hxb_lab.server"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("hxb_lab: recording the cluster history stopped: "), lines
    assert "key 'clickhouse.dsn'" in lines[0] and "s3cret-pass" not in lines[0], lines
