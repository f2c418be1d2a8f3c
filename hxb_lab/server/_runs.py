"""``runs``: the run history, one run, cancelling, and a run's report and output notebook.

History is `hx.runbooks.runs`: MLflow's records and the runbook Jobs of the cluster that
have none yet (pending and why, killed, past their deadline, deleted), merged with the runs
this server is executing or has queued, which MLflow does not know yet; every answer is masked with the secrets
this server can resolve. A report is served as a sandboxed document: its own scripts run
(plotly), no script of an output does, in an opaque origin, without network, never in
the Lab page. It is read from the run's own directory or from the profile's artifact
store, nowhere else.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.web

from hxb_lab.errors import ConflictError, NotFoundError, ParameterError
from hxb_lab.runbooks._report import report_csp
from hxb_lab.runbooks._run import runs_root
from hxb_lab.runbooks._scrub import redact_tree, run_secrets
from hxb_lab.runbooks._trigger import headline
from hxb_lab.server._approvals import approval_json
from hxb_lab.server._base import HxbHandler, blocking
from hxb_lab.server._records import check_run_id, local_run, run_file

if TYPE_CHECKING:
    from hxb_lab.config import Profile
    from hxb_lab.server._pool import Job, RunManager

__all__ = [
    "RunCancelHandler",
    "RunHandler",
    "RunNotebookHandler",
    "RunReportHandler",
    "RunsHandler",
    "list_runs",
    "report_policy",
    "row_json",
]

#: Before the report's own scripts are known (and for an error): no script at all.
_NO_SCRIPTS = "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def report_policy() -> str:
    """A report may run its own scripts (plotly.js and the drawing of its figures, by
    hash; never a script of an output) in an opaque origin, load nothing from the network,
    and be framed by the Lab page only."""
    return f"sandbox allow-scripts; {report_csp()}; frame-ancestors 'self'"


RUN_STATUSES = (
    "queued", "submitted", "pending", "running", "succeeded", "failed", "timed_out", "cancelled",
)  # fmt: skip
MAX_LIMIT = 500


def manager_of(handler: tornado.web.RequestHandler) -> RunManager:
    from hxb_lab.server._pool import RUNS_SETTING, RunManager, workers_from_env

    manager = handler.settings.get(RUNS_SETTING)
    if manager is None:  # routes registered without the ExtensionApp (setup_route_handlers)
        manager = handler.application.settings[RUNS_SETTING] = RunManager(workers_from_env())
    assert isinstance(manager, RunManager)
    return manager


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        return None if value != value else value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp; NaT is not equal to itself
        return None if value != value else value.isoformat()
    return value


def row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A `hx.runbooks.runs()` row as the sidebar shows it (see `Job.to_json`)."""
    local = local_run(str(row["run_id"]), str(row.get("runbook") or "") or None)
    has_report = bool(row.get("report_uri")) or bool(local and run_file(local, "report"))
    has_notebook = bool(row.get("notebook_uri")) or bool(local and run_file(local, "notebook"))
    return {
        "id": str(row["run_id"]),
        "runbook": row.get("runbook"),
        "status": row.get("status"),
        "submitted": _clean(row.get("started")),
        "started": _clean(row.get("started")),
        "finished": _clean(row.get("finished")),
        "duration_ms": _clean(row.get("duration_ms")),
        "profile": row.get("profile"),
        "executor": row.get("executor"),
        "kubernetes_job": row.get("kubernetes_job"),
        "parameters": row.get("parameters") or {},
        "error": row.get("error"),
        "failed_cell": local.failed_cell if local else None,
        "has_report": has_report,
        "has_notebook": has_notebook,
        "mlflow_run_id": row.get("mlflow_run_id"),
        "metrics": row.get("metrics") or {},
        "warnings": [],
        "trigger": headline(row.get("trigger")),
    }


def _query(handler: HxbHandler) -> tuple[str | None, str | None, int]:
    runbook = handler.get_query_argument("runbook", None) or None
    status = handler.get_query_argument("status", None) or None
    raw_limit = handler.get_query_argument("limit", "100")
    problems = []
    if status is not None and status not in RUN_STATUSES:
        problems.append(f"status: {status!r} is not one of {', '.join(RUN_STATUSES)}")
    try:
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        problems.append(f"limit: {raw_limit!r} is not a whole number from 1 to {MAX_LIMIT}")
        limit = 0
    if problems:
        raise ParameterError(problems, subject="query")
    return runbook, status, limit


def list_runs(
    jobs: list[Job], profile: Profile, runbook: str | None, status: str | None, limit: int
) -> dict[str, Any]:
    """``{"runs": [...newest first], "warning": str | None}``: this server's runs and MLflow's."""
    from hxb_lab.errors import BackendUnavailableError
    from hxb_lab.runbooks import runs as read_runs

    merged: dict[str, dict[str, Any]] = {}
    warning = None
    try:
        if status != "queued":  # MLflow's records, and the runbook Jobs of the cluster
            frame = read_runs(runbook, status, None, profile, limit=limit)
            for row in frame.to_dict(orient="records"):
                merged[str(row["run_id"])] = row_json(row)
    except BackendUnavailableError as exc:
        warning = f"run history unavailable: {exc}"
    for job in jobs:
        if job.profile != profile.name or (runbook and job.runbook != runbook):
            continue
        if (status and job.status != status) or (job.id in merged and not job.active):
            continue  # once a run is recorded and over, MLflow's record wins
        merged[job.id] = job.to_json()
    runs = sorted(
        merged.values(), key=lambda r: r.get("started") or r.get("submitted") or "", reverse=True
    )[:limit]
    for run in runs:  # a change awaiting (or past) a second person's decision
        run["approval"] = approval_json(run["id"], run.get("runbook"), profile)
    answer = {"runs": runs, "warning": warning}
    masked: dict[str, Any] = redact_tree(answer, run_secrets(profile))
    return masked


def find_run_json(run_id: str, job: Job | None, profile: Profile) -> dict[str, Any]:
    """One run (this server's job while it is active, else MLflow's record, else
    run.json), masked with the secrets this server can resolve."""
    found = _find_run_json(run_id, job, profile)
    found["approval"] = approval_json(run_id, found.get("runbook"), profile)
    answer: dict[str, Any] = redact_tree(found, run_secrets(profile))
    return answer


def _find_run_json(run_id: str, job: Job | None, profile: Profile) -> dict[str, Any]:
    from hxb_lab.errors import BackendUnavailableError
    from hxb_lab.runbooks import find_run

    if job is not None and job.active:
        return job.to_json()
    try:
        return row_json(find_run(run_id, profile))
    except (NotFoundError, BackendUnavailableError):
        if job is not None:
            return job.to_json()
        local = local_run(run_id)
        if local is None:
            raise
        data = local.to_json()
        data["has_report"] = bool(run_file(local, "report"))
        data["has_notebook"] = bool(run_file(local, "notebook"))
        data["error"] = local.error
        return data


def run_output(run_id: str, which: str, job: Job | None, profile: Profile) -> tuple[bytes, str]:
    """(content, file name) of a run's report or output notebook, local file first."""
    from hxb_lab.runbooks import find_run, read_artifact

    what = "report" if which == "report" else "output notebook"
    if job is not None and job.active:
        raise ConflictError(
            f"run {run_id!r} is {job.status}: its {what} is written when it finishes"
        )
    local = local_run(run_id, job.runbook if job else None)
    path = run_file(local, which) if local else None
    if local is not None and path is not None:
        if not _inside_run_directory(Path(path), local.runbook, run_id):
            raise NotFoundError(
                f"the {what} of run {run_id!r} is recorded outside its run directory; "
                "it is not read"
            )
        return Path(path).read_bytes(), Path(path).name
    row = find_run(run_id, profile)
    uri = row.get("report_uri" if which == "report" else "notebook_uri")
    if not uri:
        raise NotFoundError(f"run {run_id!r} has no {what}")
    try:
        return read_artifact(str(uri), profile), str(uri).rsplit("/", 1)[-1]
    except NotFoundError:
        raise NotFoundError(
            f"the {what} of run {run_id!r} is not in the artifact store of profile "
            f"{profile.name!r}",
            hint="its recorded location is missing, or outside the store and not read",
        ) from None


def _inside_run_directory(path: Path, runbook: str, run_id: str) -> bool:
    """Whether `path` (from a run.json) lies in that run's own directory, after `..` and
    symlinks are resolved."""
    directory = (runs_root() / runbook / run_id).resolve()
    return directory in path.resolve().parents


def _profile() -> Profile:
    from hxb_lab.config import load_profile

    return load_profile()


class RunsHandler(HxbHandler):
    """``GET runs?runbook=&status=&limit=``: newest first, this server's and MLflow's."""

    @tornado.web.authenticated
    async def get(self) -> None:
        runbook, status, limit = _query(self)
        profile = await blocking(_profile)
        jobs = list(manager_of(self).jobs.values())
        self.write_json(await blocking(list_runs, jobs, profile, runbook, status, limit))


class RunHandler(HxbHandler):
    """``GET runs/{id}``: one run with its status, duration, error and outputs."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        check_run_id(run_id)
        job = manager_of(self).get(run_id)
        profile = await blocking(_profile)
        self.write_json(await blocking(find_run_json, run_id, job, profile))


class RunCancelHandler(HxbHandler):
    """``POST runs/{id}/cancel``: drop a queued run, interrupt a running one."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        check_run_id(run_id)
        job = await manager_of(self).cancel(run_id)
        self.write_json(job.to_json())


class RunReportHandler(HxbHandler):
    """``GET runs/{id}/report``: the HTML report, sandboxed by its Content-Security-Policy."""

    @property
    def content_security_policy(self) -> str:
        return _NO_SCRIPTS

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        check_run_id(run_id)
        job = manager_of(self).get(run_id)
        profile = await blocking(_profile)
        content, _ = await blocking(run_output, run_id, "report", job, profile)
        self.set_header("Content-Security-Policy", await blocking(report_policy))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.finish(content, set_content_type="text/html; charset=utf-8")


class RunNotebookHandler(HxbHandler):
    """``GET runs/{id}/notebook``: ``{"name", "content"}``, the executed notebook."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        check_run_id(run_id)
        job = manager_of(self).get(run_id)
        profile = await blocking(_profile)
        content, name = await blocking(run_output, run_id, "notebook", job, profile)
        try:
            notebook = json.loads(content)
        except ValueError:
            raise NotFoundError(
                f"the output notebook of run {run_id!r} is not valid JSON"
            ) from None
        self.write_json({"name": name, "content": notebook})
