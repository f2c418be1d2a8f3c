"""What the server knows about a run that it cannot learn from the runbooks layer alone.

A run the server started ends in one of two ways the runbooks layer cannot see: the
server stopped while it ran, or its worker process died. Either way the run is recorded
as failed, with the reason, in its ``run.json`` and in MLflow, so no run stays
"running" forever. Also: the local files of a run (report, output notebook) by run id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hxb_lab.errors import NotFoundError

if TYPE_CHECKING:
    from hxb_lab.config import Profile
    from hxb_lab.runbooks import Run

__all__ = ["SERVER_STOPPED", "local_run", "record_failure"]

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
) -> Run:
    """Record a run that did not finish on its own as failed (or `status`) with `reason`.

    Updates its ``run.json`` (when the run got that far) and its MLflow run (created when
    the worker never got to create it). Returns the run as recorded.
    """
    from hxb_lab.runbooks import Run, record_outcome, runs_root

    now = datetime.now(UTC)
    run = local_run(run_id, runbook)
    if run is None:
        run = Run(
            id=run_id,
            runbook=runbook,
            status="running",
            started=started or now,
            parameters=dict(parameters or {}),
            profile=profile.name,
            directory=None,
        )
        directory = runs_root() / runbook / run_id
        if directory.is_dir():
            run.directory = directory
    if run.status in ("running", "cancelled"):  # cancelled: by our stop, not by the user
        run.status = status
        run.ename, run.evalue = "RunInterrupted", reason
        run.finished = run.finished or now
    run.save()
    record_outcome(run, profile)
    return run


def run_file(run: Run, which: str) -> Path | None:
    """The report or output notebook of a local run, when it is on disk."""
    path = run.report if which == "report" else run.output_notebook
    return path if path is not None and Path(path).is_file() else None
