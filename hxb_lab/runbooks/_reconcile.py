"""Ending runs that did not end on their own, with the outputs that exist.

A run is on record (``run.json`` and its lease, `_lease`) before it starts. When its
owner is gone without recording its end (killed, its host stopped), whoever finds the void
lease ends it: the server on start and every few minutes while it runs, `runs()` (the
command line's ``runbook runs``, the sidebar's list). A run that was executing is recorded
``failed`` with the reason "host stopped", one still queued ``cancelled``; the partial
output notebook is kept and a report rendered from it; its MLflow run, found by the run
id, is completed (opened when there is none, never a second).
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hxb_lab.config import Profile, load_profile
from hxb_lab.errors import HxbLabError
from hxb_lab.runbooks._catalog import load
from hxb_lab.runbooks._history import record_outcome
from hxb_lab.runbooks._lease import LEASE_FILE, TTL_S, claimed, read, remove
from hxb_lab.runbooks._report import render_report
from hxb_lab.runbooks._run import FINISHED, REPORT_FILE, RUN_FILE, Run, runs_root

__all__ = ["HOST_STOPPED", "OWNER_EXIT_S", "end_run", "reconcile"]

HOST_STOPPED = "host stopped"
#: How long the host of a run that exited without recording its end waits for the
#: processes its lease names (the MLflow helper) before ending it.
OWNER_EXIT_S = TTL_S
#: The statuses of a run that has not ended; "cancelled" may be a stop of its host's
#: (a server stopping cancels the run it then records as failed).
_UNENDED = ("queued", "running", "cancelled")
log = logging.getLogger("hxb_lab.runbooks")


def _report_from_partial(run: Run) -> None:
    """Keep the output notebook that exists, and render the report from it."""
    notebook = run.output_notebook
    if notebook is None or not Path(notebook).is_file():
        run.output_notebook = None
        return
    if run.directory is None or (run.report is not None and Path(run.report).is_file()):
        return
    import nbformat as loaded

    nbformat: Any = loaded  # untyped
    try:
        nb = nbformat.read(str(notebook), as_version=4)
        runbook = load(notebook, name=run.runbook)
        nb.metadata["hxb_lab_run"] = {"id": run.id, "runbook": run.runbook, "status": run.status,
                                      "profile": run.profile, "parameters": run.parameters}  # fmt: skip
        nbformat.write(nb, str(notebook))
        # The notebook's outputs were masked as the run wrote them.
        run.report = render_report(nb, run, runbook, run.directory / REPORT_FILE, secrets=[])
    except Exception as exc:  # a notebook cut short mid-write: the run still ends
        run.warnings.append(f"no report: the output notebook could not be rendered ({exc})")


def _wait_for_owner(directory: Path, deadline_s: float) -> None:
    """Until the lease's processes are gone (the run's own host saw it exit; a helper it
    left may still be writing its MLflow run), at most `deadline_s` seconds."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        lease = read(directory)
        if lease is None or lease.pid == os.getpid() or lease.owner_gone():
            return
        time.sleep(0.1)  # another process's exit: nothing to wait on but its pid


def end_run(
    run: Run, profile: Profile, reason: str, status: str = "failed", *, wait_s: float = 0.0
) -> Run:
    """Record `run`, which did not end on its own, as `status` with `reason`: in its
    ``run.json`` (with the outputs that exist) and in MLflow. `wait_s`: how long the
    processes named by its lease may take to exit first. Returns the run as recorded;
    `HxbLabError` when MLflow could not be written (``run.json`` is)."""
    if run.directory is not None and wait_s > 0:
        _wait_for_owner(run.directory, wait_s)
    if run.status in _UNENDED:
        run.status = status
        run.ename, run.evalue = "RunInterrupted", reason
        run.finished = run.finished or datetime.now(UTC)
    _report_from_partial(run)
    run.save()
    record_outcome(run, profile)
    run.save()
    if run.directory is not None:
        remove(run.directory)
    return run


def _ended(directory: Path) -> Run | None:
    """End the run in `directory` if its lease is void; the run, or None."""
    with claimed(directory) as mine:
        lease = read(directory)
        if not mine or lease is None or not lease.void():
            return None
        try:
            run = Run.from_json(_json(directory / RUN_FILE))
        except (OSError, ValueError, TypeError):  # nothing on record to end
            remove(directory)
            return None
        run.directory = directory
        if run.status == "queued":
            return end_run(run, load_profile(run.profile), f"{HOST_STOPPED} before it started",
                           "cancelled")  # fmt: skip
        if run.status not in FINISHED or run.mlflow_run_id is None:
            return end_run(run, load_profile(run.profile), HOST_STOPPED)
        remove(directory)  # it ended and was recorded; its owner died letting go
        return None


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds no run")
    return data


def reconcile(root: Path | None = None) -> list[Run]:
    """End every run under `root` (default `runs_root()`) whose lease is void: expired, and
    its owner gone. Returns the runs ended; one that cannot be recorded now (its profile
    or MLflow unavailable) keeps its lease and is tried again next time."""
    ended = []
    for lease in sorted((root or runs_root()).glob(f"*/*/{LEASE_FILE}")):
        try:
            run = _ended(lease.parent)
        except Exception as exc:  # one run that cannot be ended must not hide the others
            reason = exc if isinstance(exc, HxbLabError) else f"{type(exc).__name__}: {exc}"
            log.warning("hxb_lab: the abandoned run in %s is not recorded yet: %s",
                        lease.parent, reason)  # fmt: skip
            continue
        if run is not None:
            ended.append(run)
    return ended
