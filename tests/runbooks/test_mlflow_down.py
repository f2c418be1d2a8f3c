"""The MLflow server goes down while a run executes, and comes back.

A dedicated ``mlflow server`` (not the session's: it is killed) records a run started from
the command line; the runbook waits for a file, so the server is killed while the run is
known to be executing and its MLflow run is open. The run still ends: it succeeds, says
on the command line and in ``run.json`` that MLflow was not written, and leaves its end for
the next reconciliation, which records it once MLflow answers again (one MLflow run, never
a second, and never left ``running``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.errors import BackendUnavailableError, NotFoundError
from tests.runbooks.conftest import BIN, FIXTURES
from tests.support.mlflow_server import MlflowServer, start_mlflow
from tests.support.processes import Process, http_probe, launch, start, wait_port_free


def _until(what: str, check: Callable[[], object], cli: Process, timeout: float = 120.0) -> object:
    """Poll `check` until it holds while the run's command goes on; fail naming `what` if
    the command exits first or after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if not cli.running:
            pytest.fail(f"{what}: the command exited first\n{cli.tail()}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s\n{cli.tail()}", pytrace=False)
        # Waiting on the command, not sleeping: its exit ends the wait at once.
        with contextlib.suppress(subprocess.TimeoutExpired):
            cli.popen.wait(0.1)


@pytest.fixture
def own_mlflow(tmp_path: Path) -> Iterator[MlflowServer]:
    """An MLflow server of this test's own, which the test kills and starts again."""
    home = tmp_path / "mlflow"
    home.mkdir()
    server = start_mlflow(home)
    try:
        yield server
    finally:
        server.process.stop()


def _restart(server: MlflowServer) -> Process:
    """The same server (command, port, backend store) again, once its port is free."""
    port = int(server.url.rsplit(":", 1)[1])
    assert wait_port_free(port, 30), f"port {port} still taken"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    ready = http_probe(f"{server.url}/health", status=None)
    server.process = start(server.process.command, server.process.log, ready, timeout=240,
                           env=env, append=True)  # fmt: skip
    return server.process


def _recorded(run_id: str, profile: str) -> dict[str, object] | None:
    try:
        return hx.runbooks.find_run(run_id, profile)
    except (NotFoundError, BackendUnavailableError):
        return None


def test_a_run_outlives_its_mlflow_and_is_recorded_when_it_is_back(
    own_mlflow: MlflowServer, profiles_file: Path, tmp_path: Path, hxb_env: Path
) -> None:
    profiles_file.write_text(
        f"""
[profiles.flaky]
mlflow = {{ tracking_uri = "{own_mlflow.url}" }}
artifacts = {{ uri = "{(tmp_path / "artifacts").as_uri()}" }}
runbooks = {{ directories = ["{FIXTURES}"] }}
"""
    )
    ready, release = tmp_path / "ready", tmp_path / "release"
    command = [
        str(BIN / "hxb-lab"), "runbook", "run", "waits_for_release", "--profile", "flaky",
        "-p", "ready_file", str(ready), "-p", "release_file", str(release),
    ]  # fmt: skip
    cli = launch(command, tmp_path / "cli.log")
    try:
        _until("the runbook started", ready.exists, cli)
        (directory,) = (hxb_env / "runs" / "waits_for_release").iterdir()
        run_id = directory.name
        opened = _until("its MLflow run was opened", lambda: _recorded(run_id, "flaky"), cli)
        assert isinstance(opened, dict) and opened["status"] == "running"

        os.killpg(own_mlflow.process.pid, signal.SIGKILL)  # MLflow is gone mid-run
        own_mlflow.process.popen.wait(30)
        release.touch()
        assert cli.popen.wait(180) == 0, cli.tail()  # the run itself succeeded
    finally:
        cli.stop()

    output = cli.log.read_text()
    assert "Traceback" not in output, output
    assert f"run {run_id} of waits_for_release: succeeded" in output
    warning = "hxb-lab: warning: run not recorded in MLflow: cannot reach the MLflow"
    assert warning in output and own_mlflow.url.split("//")[1] in output, output
    saved = json.loads((directory / "run.json").read_text())
    assert saved["status"] == "succeeded" and saved["mlflow_run_id"] is None
    assert [w for w in saved["warnings"] if w.startswith("run not recorded in MLflow: ")]
    assert (directory / "lease.json").exists()  # left for whoever reconciles next

    # While MLflow is down, history says so, and the run waits for it.
    with pytest.raises(BackendUnavailableError, match="MLflow"):
        hx.runbooks.runs(profile="flaky")
    assert (directory / "lease.json").exists()

    _restart(own_mlflow)
    history = hx.runbooks.runs("waits_for_release", profile="flaky")  # reconciles first
    assert list(history["run_id"]) == [run_id]  # one MLflow run for the run id
    row = history.iloc[0]
    assert row["status"] == "succeeded" and row["finished"] is not None
    assert str(row["report_uri"]).endswith("/report.html")
    assert not (directory / "lease.json").exists()
    saved = json.loads((directory / "run.json").read_text())
    assert saved["mlflow_run_id"] == row["mlflow_run_id"]
    client = own_mlflow.client()
    experiment = client.get_experiment_by_name("runbooks/waits_for_release")
    found = client.search_runs([experiment.experiment_id], f"tags.`hxb_lab.run_id` = '{run_id}'")
    assert [r.info.status for r in found] == ["FINISHED"]  # the one opened, not a second
