"""What the server reads and records through the runbooks layer's public API: a run's
local record by id, and the parameters a queued run shows (secrets masked)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.errors import NotFoundError
from hxb_lab.runbooks import Run
from hxb_lab.server._records import local_run

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
