"""What the server reads and records through the runbooks layer's public API: a run's
local record by id, the parameters a queued run shows (secrets masked), and the lease that
says whose a run is until its end is on record."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.errors import NotFoundError
from hxb_lab.runbooks import Run
from hxb_lab.runbooks._lease import Lease, claimed
from hxb_lab.runbooks._lease import read as lease_file
from hxb_lab.server._records import local_run
from tests.server.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent


def _saved(runbook: str, run_id: str) -> Run:
    directory = hx.runbooks.runs_root() / runbook / run_id
    directory.mkdir(parents=True)
    run = Run(
        id=run_id,
        runbook=runbook,
        status="succeeded",
        started=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        parameters={"service": "cart"},
        profile="demo",
        directory=directory,
    )
    run.save()
    return run


def test_a_local_run_is_found_by_id_with_or_without_its_runbook(hxb_env: Path) -> None:
    assert hx.runbooks.runs_root() == hxb_env / "runs"
    saved = _saved("checks", "20261127-080000-abc123")
    found = local_run("20261127-080000-abc123")
    assert found is not None
    assert (found.runbook, found.status, found.parameters) == (
        "checks",
        "succeeded",
        saved.parameters,
    )
    assert local_run("20261127-080000-abc123", "checks") == found
    assert local_run("20261127-080000-abc123", "breaks") is None
    assert local_run("20261127-080000-ffffff") is None


def test_an_unreadable_record_or_a_path_for_a_name_finds_nothing(hxb_env: Path) -> None:
    saved = _saved("checks", "20261127-080000-bad000")
    assert saved.directory is not None
    (saved.directory / "run.json").write_text("{not json")
    assert local_run("20261127-080000-bad000") is None
    _saved("checks", "20261127-080000-abc123")
    # The runbooks layer refuses names that would lead out of the runs directory...
    assert hx.runbooks.local_run("../checks/20261127-080000-abc123") is None
    assert hx.runbooks.local_run("20261127-080000-abc123", "../runs/checks") is None
    assert hx.runbooks.local_run("*") is None
    # ... and the server answers such an id as a run it does not have.
    with pytest.raises(NotFoundError, match=r"no runbook run '\.\./x'"):
        local_run("../x")


def test_a_queued_run_shows_every_parameter_with_secrets_masked() -> None:
    runbook = hx.runbooks.load(ROOT / "runbooks" / "fixtures" / "secret_parameter.ipynb")
    shown = hx.runbooks.recorded_parameters(runbook, runbook.validate({"token": "s3cr3t-v4lue"}))
    assert shown == {"user": "ops", "token": "***"}


# --------------------------------------------------------------------------- leases


def _gone_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_a_lease_is_void_once_expired_and_its_owner_gone(tmp_path: Path) -> None:
    past = time.time() - 1
    mine = Lease.mine("r1")
    assert not mine.void()  # fresh, and this process owns it
    assert not replace(mine, expires=past).void()  # expired, but its owner runs
    dead = replace(mine, pid=_gone_pid(), expires=past)
    assert dead.owner_gone() and dead.void()
    assert not replace(dead, expires=time.time() + 60).void()  # not expired yet
    # A helper that may still write the record keeps the lease alive.
    assert not replace(dead, helpers=((os.getpid(), mine.started),)).void()
    # A reused pid is not the owner: the start time differs.
    assert replace(mine, started="1", expires=past).void()
    # Another host: the expiry alone says the owner is gone.
    assert replace(mine, host="elsewhere.example", expires=past).void()
    assert not replace(mine, host="elsewhere.example").void()

    mine.write(tmp_path)
    assert lease_file(tmp_path) == mine
    with claimed(tmp_path) as first, claimed(tmp_path) as second:
        assert (first, second) == (True, False)  # one process ends a run, not two


@pytest.mark.slow
def test_a_run_whose_owner_died_is_ended_by_reconcile_with_its_partial_outputs(
    lab_profile: str,
) -> None:
    run_id = hx.runbooks.new_run_id()
    run = _saved("checks", run_id)
    assert run.directory is not None
    run.status, run.profile = "running", lab_profile
    notebook = json.loads((FIXTURES / "checks.ipynb").read_text())
    notebook["cells"][-1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "halfway there\n"}
    ]
    run.output_notebook = run.directory / "checks.ipynb"
    run.output_notebook.write_text(json.dumps(notebook))
    run.save()
    Lease("x", _gone_pid(), socket.gethostname(), time.time() - 1).write(run.directory)

    ended = hx.runbooks.reconcile()

    assert run_id in [r.id for r in ended]
    found = local_run(run_id)
    assert found is not None and found.status == "failed"
    assert found.error == "RunInterrupted: host stopped"
    assert found.report is not None and "halfway there" in found.report.read_text()
    assert not (run.directory / "lease.json").exists()
    recorded = hx.runbooks.runs("checks", profile=lab_profile)
    rows = recorded[recorded["run_id"] == run_id]
    assert list(rows["status"]) == ["failed"] and rows.iloc[0]["report_uri"]
    assert run_id not in [r.id for r in hx.runbooks.reconcile()]  # ended once


@pytest.mark.slow
def test_a_notebook_cut_short_mid_write_still_lets_the_run_end(lab_profile: str) -> None:
    run_id = hx.runbooks.new_run_id()
    run = _saved("checks", run_id)
    assert run.directory is not None
    run.status, run.profile = "running", lab_profile
    run.output_notebook = run.directory / "checks.ipynb"
    run.output_notebook.write_text('{"cells": [{"cell_type": "code", "sour')
    run.save()
    Lease("x", _gone_pid(), socket.gethostname(), time.time() - 1).write(run.directory)

    assert run_id in [r.id for r in hx.runbooks.reconcile()]

    found = local_run(run_id)
    assert found is not None and found.status == "failed" and found.report is None
    assert found.warnings[0].startswith("no report: the output notebook could not be rendered")
    assert found.output_notebook is not None and found.output_notebook.exists()  # kept as is
