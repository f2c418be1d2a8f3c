"""Runbooks: notebooks with typed parameters, run locally or on Kubernetes, recorded in MLflow.

    import hxb_lab as hx
    hx.runbooks.catalog()                          # the runbook library, as a frame
    rb = hx.runbooks.get("platform-smoke")
    rb.schema                                      # JSON Schema of the parameters cell
    run = rb.run({"mode": "quick"})                # papermill, HTML report, MLflow run
    rb.submit({"mode": "quick"})                   # a Kubernetes Job
    rb.schedule("0 6 * * *", {"mode": "full"})     # a Kubernetes CronJob
    hx.runbooks.runs(status="failed", since="2d")  # the history, read from MLflow
    wb = hx.runbooks.replay(run_id)                # its reads, from the frames it kept
    hx.runbooks.diff(run_a, run_b)                 # verdict, metrics, key tables: what changed

Inside a runbook, `hx.runbooks.log_metric(name, value)` records a metric with the run, and
`hx.runbooks.verdict(level, text)` and `hx.runbooks.table(frame)` show its conclusion and
its evidence the way reports show them (`_display`).
Importing this package is cheap: papermill, nbconvert, mlflow and kubernetes are loaded by
the functions that use them.

Inside: a `Runbook` is data (`_catalog`, `_parameters`); every run goes through the
executor registry (`_executors`), in which this package registers the built-in executors
``local`` (`_local`) and ``kubernetes`` (`_kubernetes`).
"""

from __future__ import annotations

import json as _json
import os as _os
import threading as _threading
import time as _time
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from hxb_lab.config import Profile as _Profile
from hxb_lab.config import load_profile as _load_profile
from hxb_lab.errors import HxbLabError as _HxbLabError
from hxb_lab.errors import ParameterError as _ParameterError
from hxb_lab.runbooks import (
    _approval,
    _diff,
    _history,
    _jobs,
    _kubernetes,
    _local,
    _parameters,
    _replay,
)
from hxb_lab.runbooks._approval import ApprovalRefused, identity, propose
from hxb_lab.runbooks._artifacts import ArtifactStore as _ArtifactStore
from hxb_lab.runbooks._catalog import Runbook, catalog, get, load
from hxb_lab.runbooks._cron import check_cron
from hxb_lab.runbooks._display import keep_table, table, verdict
from hxb_lab.runbooks._executors import register as _register
from hxb_lab.runbooks._parameters import Secret
from hxb_lab.runbooks._reconcile import HOST_STOPPED, end_run, reconcile
from hxb_lab.runbooks._run import Run, local_run, new_run_id, runs_root

if _TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta

    import pandas as pd

    from hxb_lab.runbooks._kubernetes import Schedule
    from hxb_lab.workbench import Workbench

__all__ = [
    "HOST_STOPPED",
    "ApprovalRefused",
    "Run",
    "Runbook",
    "Secret",
    "approve",
    "artifact_link",
    "audit",
    "catalog",
    "check_cron",
    "delete",
    "diff",
    "end_run",
    "find_run",
    "get",
    "identity",
    "keep_table",
    "load",
    "local_run",
    "log_metric",
    "new_run_id",
    "propose",
    "read_artifact",
    "reconcile",
    "record_outcome",
    "record_trigger",
    "recorded_parameters",
    "reject",
    "replay",
    "rerun",
    "resume",
    "runs",
    "runs_root",
    "schedules",
    "session_metrics",
    "suspend",
    "table",
    "verdict",
]

_register("local", _local.LocalExecutor())
_register("kubernetes", _kubernetes.KubernetesExecutor())

_lock = _threading.Lock()
#: Metrics logged outside a run (a runbook opened in JupyterLab): kept for a look, not recorded.
session_metrics: dict[str, float] = {}


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric with the current run (it appears in MLflow and in `runs()`).

    Outside a run (a runbook opened interactively) the value is only kept in
    `session_metrics`, so the same notebook works in both places.
    """
    if not isinstance(name, str) or not name:
        raise _ParameterError(["name: a metric needs a non-empty name"], subject="metric")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _ParameterError([f"{name}: a metric is a number, got {value!r}"], subject="metric")
    target = _os.environ.get("HXB_LAB_METRICS_FILE")
    if not target:
        session_metrics[name] = float(value)
        return
    line = _json.dumps(
        {
            "key": name,
            "value": float(value),
            "step": step or 0,
            "timestamp": int(_time.time() * 1000),
        }
    )
    with _lock, open(target, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _profile(profile: str | _Profile | None) -> _Profile:
    return profile if isinstance(profile, _Profile) else _load_profile(profile)


def runs(
    name: str | None = None,
    status: str | None = None,
    since: datetime | timedelta | str | None = None,
    profile: str | _Profile | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The runs (newest first, at most `limit` from MLflow): MLflow's records, and the
    runbook Jobs of the profile's cluster that have none yet.

    Columns: run_id, runbook, status (submitted, pending, running, succeeded, failed,
    timed_out, cancelled), started, finished (datetime64[ns, UTC]), duration_ms (float),
    profile, executor (local or kubernetes), kubernetes_job, parameters (dict, secrets
    ``***``), metrics (dict), report_uri, notebook_uri, error (None unless it failed; for a
    pending Job, why: not scheduled, image not present), mlflow_run_id, trigger (dict: the
    alert that started the run, its rule, group key, alerts' labels and fingerprints, as
    recorded, or as its Job carries it while its pod has not recorded it; None if no alert
    did). `since` is a time or an age such as ``"6h"`` or ``"2d"``. Runs here whose host
    stopped without recording their end are recorded first (`reconcile`). A record still
    ``running`` whose Job ended (OOM-killed, past its deadline, deleted) shows the Job's end.
    """
    chosen = _profile(profile)
    _jobs.check_status(status)
    reconcile()
    # Only "succeeded" is filtered in MLflow: a record still "running" may be a Job that failed.
    history = _history.runs(
        name, status if status == "succeeded" else None, since, chosen, limit=limit
    )
    return _jobs.with_jobs(history, chosen, name, status, since)


def find_run(run_id: str, profile: str | _Profile | None = None) -> dict[str, _Any]:
    """One recorded run by its run id (or its MLflow run id), as a row of `runs()` (a
    dict); `NotFoundError` when the profile's MLflow has no such run."""
    return _history.find_run(run_id, _profile(profile))


def replay(run_id: str, profile: str | _Profile | None = None) -> Workbench:
    """A workbench that answers the reads run `run_id` made (``wb.cluster.gpus()``, ...)
    from the frames the run kept, after the live data is gone; a call the run did not make
    raises `NotRecordedError` naming it. The frames come from the run's directory, else
    from the profile's artifact store."""
    return _replay.replay(run_id, _profile(profile))


def rerun(run_id: str, profile: str | _Profile | None = None, output: str | None = None) -> Run:
    """Execute run `run_id`'s notebook again, with its parameters, against the frames it
    kept (no live data is read): a new run, recorded under the executor ``replay``, whose
    report shows what the original showed."""
    from pathlib import Path

    return _replay.rerun(run_id, _profile(profile), Path(output) if output else None)


def diff(before: str, after: str, profile: str | _Profile | None = None) -> _diff.RunDiff:
    """What changed from run `before` to run `after` of one runbook: the verdict, each
    logged metric that moved beyond the runbook's tolerance (``hxb_lab.diff.tolerance`` in
    its metadata), and the new, vanished and moved rows of its key tables
    (``table(frame, key=...)``). `str()` is one line per change; `.changed` says whether
    there is any; in a notebook it shows as the report's "since last run" section."""
    chosen = _profile(profile)

    def metadata_of(name: str) -> dict[str, _Any]:
        try:
            found: dict[str, _Any] = get(name, chosen).notebook.get("metadata") or {}
        except _HxbLabError:  # no longer in the catalog: any change counts
            return {}
        return found

    return _diff.diff(before, after, chosen, metadata_of)


def read_artifact(uri: str, profile: str | _Profile | None = None) -> bytes:
    """The content of a recorded run's output (its ``report_uri`` or ``notebook_uri``),
    from the profile's artifact store."""
    return _ArtifactStore.of(_profile(profile)).get(uri)


def artifact_link(
    uri: str, expires_s: float = 86_400.0, profile: str | _Profile | None = None
) -> str:
    """A link to a recorded run's output that opens without credentials for `expires_s`
    seconds (pre-signed in S3; the ``file://`` URI itself in a file store)."""
    return _ArtifactStore.of(_profile(profile)).link(uri, expires_s)


def recorded_parameters(runbook: Runbook, values: Mapping[str, _Any]) -> dict[str, _Any]:
    """The parameters a run of `runbook` with `values` records: every parameter, defaults
    filled in, secrets ``***``."""
    everything = _parameters.resolved(runbook.parameters, values)
    return _parameters.redacted(runbook.parameters, everything)


def record_outcome(run: Run, profile: str | _Profile | None = None) -> None:
    """Record how a run ended in MLflow when its own process could not (it died, or was
    stopped): its MLflow run gets the run's status, error and end time, and a run that
    never opened one gets one now. `HxbLabError` when MLflow could not be written."""
    _history.record_outcome(run, _profile(profile))


def approve(
    run_id: str, approver: str | None = None, profile: str | _Profile | None = None
) -> dict[str, _Any]:
    """Apply the change run `run_id` proposed (``propose``), exactly as reviewed: the
    server-side dry run, then the patch with the resourceVersion that was read, with the
    profile's credentials. `approver` (default ``HXB_LAB_USER``, else the login name) must
    differ from whoever started the run unless ``runbooks.self_approval``; a change made to
    the object since is a `ConflictError` and nothing is applied. Recorded with the run."""
    return _approval.approve(run_id, _profile(profile), approver)


def reject(
    run_id: str, reason: str, approver: str | None = None, profile: str | _Profile | None = None
) -> dict[str, _Any]:
    """Refuse the change run `run_id` proposed, saying why; recorded with the run."""
    return _approval.reject(run_id, reason, _profile(profile), approver)


def record_trigger(
    run_id: str, trigger: dict[str, _Any], started_by: str, profile: str | _Profile | None = None
) -> None:
    """Record with the ended run `run_id` the alert that started it (see `audit`)."""
    _approval.record_trigger(run_id, trigger, started_by, _profile(profile))


def audit(
    since: datetime | timedelta | str | None = None,
    profile: str | _Profile | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Runs started by an alert or whose change was decided, newest first, from MLflow.

    Columns: run_id, runbook, status, started (datetime64[ns, UTC]), trigger (dict: rule,
    receiver, group_key, alerts with labels and fingerprint; None for a run started by
    hand), started_by, approval (applied, conflict, refused, rejected, expired; "" while
    none), decided_by, decided_at (datetime64[ns, UTC]), target (the object changed), patch
    (dict: the JSON merge patch sent), answer (the API server's, or the reason)."""
    return _approval.audit(_profile(profile), since, limit)


def schedules(profile: str | _Profile | None = None) -> pd.DataFrame:
    """The runbook CronJobs in the profile's runbook namespace.

    Columns: name, runbook, cron, suspended (bool), parameters (dict, secrets ``***``),
    last_schedule (datetime64[ns, UTC]), created (datetime64[ns, UTC]), namespace.
    """
    return _kubernetes.list_schedules(_profile(profile))


def suspend(name: str, profile: str | _Profile | None = None) -> Schedule:
    """Pause a schedule (its CronJob stops creating Jobs)."""
    return _kubernetes.set_suspended(name, True, _profile(profile))


def resume(name: str, profile: str | _Profile | None = None) -> Schedule:
    """Resume a paused schedule."""
    return _kubernetes.set_suspended(name, False, _profile(profile))


def delete(name: str, profile: str | _Profile | None = None) -> None:
    """Delete a schedule (its CronJob and the ConfigMap and Secret made for it)."""
    _kubernetes.delete_schedule(name, _profile(profile))


def __getattr__(name: str) -> _Any:  # the result types of `submit` and `schedule`
    if name in ("Schedule", "Submission"):
        return getattr(_kubernetes, name)
    raise AttributeError(f"module 'hxb_lab.runbooks' has no attribute {name!r}")
