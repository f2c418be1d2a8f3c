"""`hxb-lab runbook ...`: exit codes, messages, Ctrl-C, and a secret that never leaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import hxb_lab as hx
from tests.runbooks.conftest import BIN, MlflowServer

HXB = str(BIN / "hxb-lab")


def hxb(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HXB, *args], capture_output=True, text=True, timeout=timeout)


def test_run_prints_where_everything_is_and_exits_0(local_profile: str) -> None:
    done = hxb("runbook", "run", "succeeds", "-p", "service", "checkout", "-p", "threshold_ms",
               "300", "-p", "dry_run", "false", "-p", "hosts", "a,b", "--profile", local_profile)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("run ") and ": succeeded in " in lines[0]
    report = next(line.split(":", 1)[1].strip() for line in lines if "report:" in line)
    assert Path(report).exists()
    seen = json.loads((Path(report).parent / "seen.json").read_text())
    assert (seen["threshold_ms"], seen["dry_run"], seen["hosts"]) == (300.0, False, ["a", "b"])
    assert "Traceback" not in done.stderr


def test_a_failed_run_exits_1_with_the_cell_the_error_and_the_report(local_profile: str) -> None:
    done = hxb("runbook", "run", "fails_in_cell_3", "--profile", local_profile)
    assert done.returncode == 1
    assert "failed cell: 3" in done.stdout
    assert "error:       ValueError: disk is full on node gpu-7" in done.stdout
    assert "report:" in done.stdout and "report.html" in done.stdout


def test_bad_input_exits_2_with_every_problem_and_no_traceback(local_profile: str) -> None:
    done = hxb("runbook", "run", "succeeds", "-p", "threshold_ms", "fast", "-p", "colour", "red",
               "--profile", local_profile)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("hxb-lab: error: 3 invalid parameters for runbook 'succeeds':")
    assert "threshold_ms: expected a number, got 'fast'" in done.stderr
    assert "colour: unknown parameter" in done.stderr
    assert "service: required" in done.stderr
    assert "Traceback" not in done.stderr
    unknown = hxb("runbook", "run", "no-such-runbook", "--profile", local_profile)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("hxb-lab: error: no runbook named 'no-such-runbook'")
    cron = hxb("runbook", "schedule", "succeeds", "--cron", "0 25 * * *", "-p", "service", "x",
               "--profile", local_profile)  # fmt: skip
    assert cron.returncode == 2 and "hour: 25 is outside 0-23" in cron.stderr
    window = hxb("runbook", "run", "succeeds", "-p", "service", "x", "-p", "window", "2x",
                 "--profile", local_profile)  # fmt: skip
    assert window.returncode == 2
    assert "window: '2x' is not a duration (use a number and a unit: 30m, 2h, 1d)" in window.stderr


def test_ctrl_c_cancels_the_run_and_keeps_its_outputs(local_profile: str, tmp_path: Path) -> None:
    ready = tmp_path / "started"
    process = subprocess.Popen(
        [HXB, "runbook", "run", "sleeps", "-p", "seconds", "120", "-p", "ready_file", str(ready),
         "--profile", local_profile],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not ready.exists():  # the runbook writes it once its long cell runs
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the runbook never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert ": cancelled in " in out
    assert "cancelling the run" in err
    run_id = out.split()[1]  # "run <id> of sleeps: cancelled in ..."
    history = hx.runbooks.runs("sleeps", profile=local_profile).set_index("run_id")
    assert history.loc[run_id, "status"] == "cancelled"
    report = Path(
        next(line.split(":", 1)[1].strip() for line in out.splitlines() if "report:" in line)
    )
    notebook = json.loads((report.parent / "sleeps.ipynb").read_text())
    printed = json.dumps([c.get("outputs", []) for c in notebook["cells"]])
    assert "sleeping 120" in printed and "KeyboardInterrupt" in printed
    assert "cancelled" in report.read_text()


def test_a_secret_parameter_is_never_in_the_notebook_report_mlflow_or_logs(
    local_profile: str, mlflow_server: MlflowServer, hxb_env: Path, tmp_path: Path
) -> None:
    secret = "tok-SECRET-5f3a9c"
    done = hxb(
        "runbook", "run", "secret_parameter", "-p", "token", secret, "--profile", local_profile
    )
    assert done.returncode == 1  # the runbook raises an error that quotes the token
    assert "RuntimeError: API refused token ***" in done.stdout
    assert secret not in done.stdout and secret not in done.stderr
    files = [
        p for root in (hxb_env, tmp_path / "artifacts") for p in root.rglob("*") if p.is_file()
    ]
    assert any(p.name == "report.html" for p in files)
    assert any(p.name == "secret_parameter.ipynb" for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes(), path
    run_id = done.stdout.split()[1]
    history = hx.runbooks.runs("secret_parameter", profile=local_profile)
    row = history.set_index("run_id").loc[run_id]
    assert row["parameters"] == {"user": "ops", "token": "***"}
    assert row["metrics"] == {"token_length": float(len(secret))}  # the kernel had the value
    assert secret not in history.to_json(date_format="iso")
    assert secret.encode() not in mlflow_server.database.read_bytes()


def test_list_show_runs_and_rbac(local_profile: str) -> None:
    listed = hxb("runbook", "list", "--profile", local_profile)
    assert (
        listed.returncode == 0 and "platform-smoke" in listed.stdout and "succeeds" in listed.stdout
    )
    shown = hxb("runbook", "show", "succeeds", "--profile", local_profile)
    assert "list[str]" in shown.stdout and "(required)" in shown.stdout
    schema = json.loads(
        hxb("runbook", "show", "succeeds", "--schema", "--profile", local_profile).stdout
    )
    assert schema["required"] == ["service"]
    hxb("runbook", "run", "untyped_parameters", "--profile", local_profile)
    runs = hxb("runbook", "runs", "untyped_parameters", "--json", "--profile", local_profile)
    records = [json.loads(line) for line in runs.stdout.splitlines()]
    assert records and records[0]["runbook"] == "untyped_parameters"
    assert records[0]["status"] == "succeeded"
    rbac = hxb("runbook", "rbac", "--namespace", "ops")
    assert "kind: ServiceAccount" in rbac.stdout and "kind: ClusterRoleBinding" in rbac.stdout


@pytest.fixture(autouse=True)
def _no_inherited_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI subprocesses get this test's isolated environment only."""
    for name in list(os.environ):
        if name.startswith("HXB_LAB_SECRET_"):
            monkeypatch.delenv(name)
