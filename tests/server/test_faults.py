"""Runs survive their host: real processes killed with SIGKILL, and kernels that never start.

What is pinned, whatever dies: the run ends on record (``run.json`` and exactly one MLflow
run), with the outputs that exist (the partial notebook, a report rendered from it), and
nobody is left reading "running". A server killed mid-run: its worker, which outlives it,
stops the run and records it failed with "server stopped"; a run still queued is ended as
cancelled by the next one who looks (the next server's start). A worker killed: its server
records the run failed; with no server, the next `runs()` does once the run's lease has
expired ("host stopped"). Waiting is on states with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile
from hxb_lab.runbooks import Run
from hxb_lab.runbooks._history import _search
from hxb_lab.runbooks._lease import TTL_S
from hxb_lab.runbooks._lease import read as read_lease
from tests.server._jupyter import JupyterError, running_jupyter
from tests.server.conftest import FIXTURES, body, post, wait_for_file

pytestmark = pytest.mark.slow
T = TypeVar("T")
BIN = Path(sys.executable).parent


def _until(what: str, check: Callable[[], T | None], timeout_s: float = 120.0) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} within {timeout_s:g}s"
        time.sleep(0.2)


def _ended(run_id: str) -> Run | None:
    """The run's local record once it is no longer queued or running."""
    run = hx.runbooks.local_run(run_id)
    return run if run is not None and run.status not in ("queued", "running") else None


def _mlflow_runs(run: Run) -> list[dict[str, Any]]:
    """Every MLflow run recorded for `run` (by its run id tag)."""
    filters = [f"tags.`hxb_lab.run_id` = '{run.id}'"]
    return _search(load_profile(run.profile), run.runbook, filters, 10)


def _assert_recorded(run: Run, status: str, reason: str) -> None:
    """Ended as `status` with `reason`, its outputs on disk, and one MLflow run saying so."""
    assert run.status == status, run
    assert reason in (run.error or ""), run.error
    assert run.directory is not None
    assert not (run.directory / "lease.json").exists()
    recorded = _mlflow_runs(run)
    assert len(recorded) == 1, [r["info"] for r in recorded]
    tags = recorded[0]["data"]["tags"]
    assert tags["hxb_lab.status"] == status and reason in tags["hxb_lab.error"]
    assert recorded[0]["info"]["status"] in ("FAILED", "KILLED")
    listed = hx.runbooks.runs(run.runbook, profile=run.profile)
    assert list(listed["run_id"]).count(run.id) == 1


def _assert_outputs(run: Run, printed: str) -> None:
    assert run.output_notebook is not None and run.output_notebook.is_file()
    assert printed in run.output_notebook.read_text()
    assert run.report is not None and run.report.is_file()
    report = run.report.read_text()
    assert f"hxb-status-{run.status}" in report.split("</style>", 1)[1]


def _server_pid(runtime: Path) -> int:
    """The pid of the Jupyter server whose runtime directory is `runtime`."""
    found = _until("the server's runtime file", lambda: sorted(runtime.glob("jpserver-*.json")))
    return int(json.loads(found[0].read_text())["pid"])


# --------------------------------------------------------------------------- the server


def test_a_server_killed_mid_run_leaves_no_run_running(
    lab_profile: str, runs_home: Path, profiles_file: Path, tmp_path: Path
) -> None:
    env = {"HXB_LAB_HOME": str(runs_home), "HXB_LAB_CONFIG": str(profiles_file)}
    ready = tmp_path / "started"
    waits = {"parameters": {"ready_file": str(ready), "seconds": 600}}
    base = tmp_path / "first"
    try:
        with running_jupyter("server", base, env, tmp_path / "first.log",
                             ["--HxbLabApp.run_workers=1"]) as server:  # fmt: skip
            running = server.api("POST", "runbooks/waits/runs", waits)["run"]["id"]
            queued = server.api("POST", "runbooks/waits/runs", {})["run"]["id"]
            _until("the first run's cell", ready.exists)
            os.kill(_server_pid(base / "jupyter-runtime"), signal.SIGKILL)
            # The queued run is on record, owned by the dead server until its lease expires.
            assert hx.runbooks.local_run(queued).status == "queued"  # type: ignore[union-attr]

            # The worker outlived its server: it stopped the run and recorded it.
            first = _until("the running run's record", lambda: _ended(running))
            assert first.directory is not None
            assert "Traceback" not in (first.directory / "worker.log").read_text()
    except JupyterError as exc:
        pytest.fail(str(exc))

    # Once the dead server's lease on it has expired, the next server ends the queued run
    # as it starts (nobody else looked meanwhile).
    lease = read_lease(hx.runbooks.runs_root() / "waits" / queued)
    assert lease is not None and lease.pid != os.getpid()
    _until("the lease's expiry", lambda: lease.expired, TTL_S + 5)
    with running_jupyter("server", tmp_path / "second", env, tmp_path / "second.log"):
        second = _until("the queued run's record", lambda: _ended(queued), 60)

    _assert_recorded(first, "failed", "RunInterrupted: server stopped")
    _assert_outputs(first, "ready_file")
    assert "KeyboardInterrupt" in (first.output_notebook or Path()).read_text()  # stopped
    _assert_recorded(second, "cancelled", "host stopped before it started")
    assert second.output_notebook is None and second.report is None  # it never ran


async def test_a_worker_killed_is_recorded_failed_once_with_its_partial_outputs(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str, tmp_path: Path
) -> None:
    from hxb_lab.server.app import RUNS_SETTING

    ready = tmp_path / "started"
    data = {"parameters": {"ready_file": str(ready), "seconds": 600}}
    run_id = body(await post(jp_fetch, "runbooks", "waits", "runs", data=data))["run"]["id"]
    await wait_for_file(ready)
    job = jp_serverapp.web_app.settings[RUNS_SETTING].get(run_id)
    record = hx.runbooks.local_run(run_id)
    assert record is not None and record.status == "running"
    await asyncio.to_thread(_until, "its MLflow run", lambda: _mlflow_runs(record))

    os.kill(job.process.pid, signal.SIGKILL)
    await job.done.wait()

    assert job.status == "failed"
    assert "exited with code -9" in job.error
    run = hx.runbooks.local_run(run_id)
    assert run is not None
    _assert_recorded(run, "failed", "exited with code -9")
    _assert_outputs(run, "ready_file")


def _children(pid: int) -> list[int]:
    """The pids of the processes whose parent is `pid` (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


async def test_a_worker_killed_before_its_mlflow_helper_opened_the_run_leaves_one_mlflow_run(
    jp_fetch: Any,
    jp_serverapp: Any,
    profiles_file: Path,
    runs_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store written through the mlflow library (here: a profile with a token) is written
    by a helper process of the run's own, which outlives a worker killed while it imports
    mlflow: one MLflow run still."""
    from hxb_lab.server.app import RUNS_SETTING

    monkeypatch.setenv("HXB_LAB_HOME", str(runs_home))
    monkeypatch.setenv("HXB_TEST_MLFLOW_TOKEN", "t0ken")  # a token: mlflow's own client
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    profiles_file.write_text(
        'default = "files"\n\n[profiles.files]\n'
        f'mlflow = {{ tracking_uri = "{store}", token = {{ env = "HXB_TEST_MLFLOW_TOKEN" }} }}\n'
        f'artifacts = {{ uri = "{(tmp_path / "artifacts").as_uri()}" }}\n'
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
    )
    # The store exists and this process has mlflow loaded: the server is quick to record,
    # while the run's helper still spends seconds importing mlflow.
    assert hx.runbooks.runs(profile="files").empty
    data = {"parameters": {"seconds": 600}}
    run_id = body(await post(jp_fetch, "runbooks", "waits", "runs", data=data))["run"]["id"]
    job = jp_serverapp.web_app.settings[RUNS_SETTING].get(run_id)
    helper_log = hx.runbooks.runs_root() / "waits" / run_id / "mlflow.log"
    await asyncio.to_thread(_until, "the MLflow helper", helper_log.exists)
    worker = job.process.pid
    helpers = await asyncio.to_thread(_until, "the helper's pid", lambda: _children(worker))

    os.kill(worker, signal.SIGKILL)  # the helper is still importing mlflow
    await job.done.wait()
    await asyncio.to_thread(_until, "the helper's exit", lambda: all(map(_gone, helpers)))

    assert job.status == "failed"
    run = hx.runbooks.local_run(run_id)
    assert run is not None
    _assert_recorded(run, "failed", "exited with code -9")


def test_a_worker_killed_without_a_server_is_reconciled_by_runs(
    lab_profile: str, tmp_path: Path
) -> None:
    ready = tmp_path / "started"
    spec = {"runbook": "waits", "path": str(FIXTURES / "waits.ipynb"), "profile": lab_profile,
            "run_id": hx.runbooks.new_run_id(),
            "parameters": {"ready_file": str(ready), "seconds": 600}}  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "hxb_lab.server._worker"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    assert worker.stdin is not None
    worker.stdin.write((json.dumps(spec) + "\n").encode())
    worker.stdin.flush()
    _until("the run's cell", ready.exists)
    record = hx.runbooks.local_run(spec["run_id"])
    assert record is not None
    _until("its MLflow run", lambda: _mlflow_runs(record))

    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its kernel
    worker.wait()
    worker.stdin.close()
    assert hx.runbooks.local_run(spec["run_id"]).status == "running"  # type: ignore[union-attr]

    def reconciled() -> Run | None:
        hx.runbooks.runs("waits", profile=lab_profile)  # ends what it finds abandoned
        return _ended(spec["run_id"])

    run = _until("reconciliation by runs()", reconciled, TTL_S + 60)
    _assert_recorded(run, "failed", "RunInterrupted: host stopped")
    _assert_outputs(run, "ready_file")


# --------------------------------------------------------------------------- the kernel


def _waiting_notebook(tmp_path: Path) -> Path:
    """A runbook whose kernel writes its pid to `ready_file`, then waits."""
    notebook = json.loads((FIXTURES / "waits.ipynb").read_text())
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        cell["source"] = source.replace('write_text("started")', "write_text(str(os.getpid()))")
        cell["source"] = cell["source"].replace("import time", "import os, time")
    path = tmp_path / "waits_pid.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def test_a_kernel_killed_fails_the_run_with_a_clear_reason(
    lab_profile: str, tmp_path: Path
) -> None:
    ready = tmp_path / "kernel-pid"
    runbook = hx.runbooks.load(_waiting_notebook(tmp_path))
    results: list[Run] = []
    thread = threading.Thread(
        target=lambda: results.append(
            runbook.run({"ready_file": str(ready), "seconds": 600}, lab_profile, progress_bar=False)
        )
    )
    thread.start()
    pid = int(_until("the kernel's pid", lambda: ready.exists() and ready.read_text()))
    os.kill(pid, signal.SIGKILL)
    thread.join(120)

    assert not thread.is_alive() and len(results) == 1
    run = results[0]
    assert (run.status, run.ename) == ("failed", "DeadKernelError")
    assert run.evalue is not None and run.evalue.startswith("the kernel died")
    saved = hx.runbooks.local_run(run.id)
    assert saved is not None and saved.status == "failed"
    _assert_recorded(saved, "failed", "DeadKernelError: the kernel died")
    _assert_outputs(saved, "ready_file")


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("fault", ["missing-cwd", "missing-kernel-binary"])
def test_a_kernel_that_cannot_start_is_a_recorded_failed_run_and_one_line(
    fault: str, lab_profile: str, tmp_path: Path
) -> None:
    args = ["--cwd", str(tmp_path / "nowhere")]
    env = dict(os.environ)
    if fault == "missing-kernel-binary":
        spec = tmp_path / "jupyter" / "kernels" / "gone"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(tmp_path / "no-such-python"), "-m", "ipykernel_launcher",
                     "-f", "{connection_file}"],
            "display_name": "gone", "language": "python",
        }))  # fmt: skip
        env["JUPYTER_PATH"] = str(tmp_path / "jupyter")
        args = ["--kernel", "gone"]

    done = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "run", "checks", "-p", "service", "cart", *args,
         "--no-progress"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert ": failed in " in first and "KernelStartError: the kernel" in first, done.stdout
    assert "did not start: [Errno 2] No such file or directory" in first
    run_id = first.split()[1]
    run = hx.runbooks.local_run(run_id)
    assert run is not None
    _assert_recorded(run, "failed", "KernelStartError")
    assert run.report is not None and run.report.is_file()
