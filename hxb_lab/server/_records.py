"""What the server knows about a run that it cannot learn from the runbooks layer alone.

A run the server was asked for is on record from that moment (`queue_record`). It may end
in ways the runbooks layer cannot see: the server stopped while it ran or waited, or its
worker process died. Either way it is recorded, with the reason, in its ``run.json`` and in
MLflow, so no run stays "running" forever. Also: the local files of a run by run id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hxb_lab.errors import NotFoundError, RunbookError

if TYPE_CHECKING:
    from hxb_lab.config import Profile
    from hxb_lab.runbooks import Run

__all__ = ["SERVER_STOPPED", "local_run", "queue_record", "record_failure"]

SERVER_STOPPED = "server stopped"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_run_id(run_id: str) -> str:
    """A run id as the server accepts it (no path separators); else `NotFoundError`."""
    if not _RUN_ID.match(run_id):
        raise NotFoundError(
            f"no runbook run {run_id!r}", hint="run ids look like 20250101-120000-3f9a1c"
        )
    return run_id


def local_run(run_id: str, runbook: str | None = None) -> Run | None:
    """The ``run.json`` of a run under ``$HXB_LAB_HOME/runs``, or None."""
    from hxb_lab.runbooks import local_run as read_local_run

    return read_local_run(check_run_id(run_id), runbook)


def record_failure(
    run_id: str,
    runbook: str,
    reason: str,
    profile: Profile,
    *,
    started: datetime | None = None,
    parameters: dict[str, object] | None = None,
    status: str = "failed",
    wait_s: float = 0.0,
) -> Run:
    """Record a run that did not end on its own as failed (or `status`) with `reason`.

    Updates its ``run.json`` (when the run got that far, with a report rendered from its
    partial notebook) and its MLflow run (opened when the worker never got to open one;
    never a second). `wait_s`: how long the processes the run's lease names may take to
    exit first. Returns the run as recorded.
    """
    from hxb_lab.runbooks import Run, end_run, runs_root

    run = local_run(run_id, runbook)
    if run is None:
        run = Run(
            id=run_id,
            runbook=runbook,
            status="running",
            started=started or datetime.now(UTC),
            parameters=dict(parameters or {}),
            profile=profile.name,
            directory=None,
        )
        directory = runs_root() / runbook / run_id
        if directory.is_dir():
            run.directory = directory
    return end_run(run, profile, reason, status, wait_s=wait_s)


def queue_record(job_id: str, runbook: str, profile: str, parameters: dict[str, object]) -> Path:
    """Put a run the server was asked for on record before it starts: its directory under
    `runs_root()` with a ``run.json`` saying "queued". Returns the directory."""
    from hxb_lab.runbooks import Run, runs_root

    directory = runs_root() / runbook / check_run_id(job_id)
    try:
        directory.mkdir(parents=True)
    except OSError as exc:
        raise RunbookError(
            f"cannot put the run on record in {directory}: {exc.strerror or exc}",
            hint="HXB_LAB_HOME must be a writable directory",
        ) from None
    run = Run(id=job_id, runbook=runbook, status="queued", started=datetime.now(UTC),
              parameters=dict(parameters), profile=profile, directory=directory)  # fmt: skip
    run.save()
    return directory


def run_file(run: Run, which: str) -> Path | None:
    """The report or output notebook of a local run, when it is on disk."""
    path = run.report if which == "report" else run.output_notebook
    return path if path is not None and Path(path).is_file() else None
