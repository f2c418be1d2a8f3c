"""``runbooks``: the catalog with each runbook's JSON Schema, starting runs and schedules.

``POST runbooks/{name}/runs`` validates the parameters first (a `ParameterError` comes
back with ``fields``, so the form shows each message on its field), then queues a local
run in the server's pool or submits a Kubernetes Job, and answers at once with the run.
The name must be one of the catalog of the active profile: a request never names a
notebook by its path, so nothing else on the server's disk can be run or scheduled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tornado.web

from hxb_lab.config import load_profile, require_live_cluster
from hxb_lab.errors import NotFoundError, ParameterError
from hxb_lab.server._approvals import user_of
from hxb_lab.server._base import HxbHandler, blocking
from hxb_lab.server._runs import manager_of
from hxb_lab.server._schedules import schedule_json

if TYPE_CHECKING:
    from hxb_lab.config import Profile
    from hxb_lab.runbooks import Runbook

__all__ = ["RunbookRunsHandler", "RunbookSchedulesHandler", "RunbooksHandler", "catalog_json"]

EXECUTORS = ("local", "kubernetes")


def catalog_json(profile: Profile) -> dict[str, Any]:
    """``{"profile", "executors", "runbooks": [{name, title, description, tags, schedule,
    parameters, required, problem, schema, warnings}]}``; a runbook that cannot be loaded has
    its `problem` and no schema; `warnings` says what its parameters cell holds that could
    not be typed. `executors` are where the profile can run one (no Kubernetes Job on a
    snapshot), so the Run form offers only those."""
    from hxb_lab.runbooks import catalog, get

    items = []
    for row in catalog(profile).to_dict(orient="records"):
        schema, warnings = None, []
        if row["problem"] is None:
            runbook = get(str(row["path"]), profile)
            schema, warnings = runbook.schema, list(runbook.warnings)
        items.append(
            {
                "name": row["name"],
                "title": row["title"],
                "description": row["description"],
                "tags": list(row["tags"]),
                "schedule": row["schedule"],
                "parameters": list(row["parameters"]),
                "required": list(row["required"]),
                "problem": row["problem"],
                "schema": schema,
                "warnings": warnings,
            }
        )
    return {"profile": profile.name, "executors": list(profile.executors), "runbooks": items}


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("parameters", {})
    if not isinstance(params, dict):
        raise ParameterError(
            ["parameters: expected a JSON object of name: value"], subject="request"
        )
    return params


def _runbook(name: str) -> tuple[Runbook, Profile]:
    """The runbook `name` of the active profile's catalog (the allow-list of a request);
    `NotFoundError` naming it, and the known ones, for any other name or a path."""
    from hxb_lab.runbooks import catalog, load

    profile = load_profile()
    known = {str(row["name"]): row for row in catalog(profile).to_dict(orient="records")}
    row = known.get(name)
    if row is None:
        raise NotFoundError(
            f"no runbook named {name!r} in the catalog of profile {profile.name!r}",
            hint=f"known runbooks: {', '.join(sorted(known)) or 'none'}",
        )
    problem = row["problem"]
    if isinstance(problem, str) and problem:  # listed, but it cannot be loaded
        raise ParameterError([f"runbook: {name!r} cannot be run: {problem}"], subject="request")
    return load(str(row["path"]), name=name), profile


def _check_cron(cron: Any) -> str:
    from hxb_lab.runbooks import check_cron

    if not isinstance(cron, str) or not cron.strip():
        raise ParameterError(
            ["cron: a cron expression is required, e.g. '0 6 * * *'"], subject="schedule"
        )
    try:
        return check_cron(cron)
    except ParameterError as exc:
        raise ParameterError([f"cron: {p}" for p in exc.problems], subject="schedule") from None


class RunbooksHandler(HxbHandler):
    """``GET runbooks``: the catalog of the active profile, with JSON Schemas."""

    @tornado.web.authenticated
    async def get(self) -> None:
        profile = await blocking(load_profile)
        self.write_json(await blocking(catalog_json, profile))


class RunbookRunsHandler(HxbHandler):
    """``POST runbooks/{name}/runs`` ``{"parameters", "executor": "local"|"kubernetes",
    "timeout": seconds}``: validate, then start; answers 202 with the run (its id) at once.
    Without a timeout, the runbook's ``hxb_lab.timeout_s`` applies, else the profile's
    ``runbooks.timeout_s``."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        from hxb_lab.times import timeout as check_timeout

        body = self.json_body()
        params = _parameters(body)
        timeout = check_timeout(body.get("timeout"), "timeout")
        executor = body.get("executor", "local")
        if not isinstance(executor, str) or executor not in EXECUTORS:
            raise ParameterError([f"executor: {executor!r} is not one of {', '.join(EXECUTORS)}"],
                                 subject="request")  # fmt: skip
        runbook, profile = await blocking(_runbook, name)
        manager = manager_of(self)
        if executor == "local":
            job = manager.submit(
                runbook, params, profile, timeout=timeout, started_by=user_of(self)
            )
            self.write_json({"run": job.to_json()}, 202)
            return
        from hxb_lab.server._pool import Job

        runbook.validate(params)
        require_live_cluster(profile, "Kubernetes runs")
        submission = await blocking(
            lambda: runbook.submit(params, profile, timeout=runbook.run_timeout(timeout, profile))
        )
        job = Job(
            id=submission.run_id,
            runbook=runbook.name,
            path=str(runbook.path),
            profile=profile.name,
            parameters=submission.parameters,
            executor="kubernetes",
            status="submitted",
            kubernetes_job=submission.name,
        )
        manager.add_submitted(job)
        self.write_json({"run": job.to_json()}, 202)


class RunbookSchedulesHandler(HxbHandler):
    """``POST runbooks/{name}/schedules`` ``{"cron", "parameters", "name", "suspend"}``:
    a Kubernetes CronJob in the profile's runbook namespace."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = self.json_body()
        params = _parameters(body)
        cron = _check_cron(body.get("cron"))
        schedule_name = body.get("name") or None
        if schedule_name is not None and not isinstance(schedule_name, str):
            raise ParameterError(["name: expected a string"], subject="schedule")
        suspend = body.get("suspend", False)
        if not isinstance(suspend, bool):
            raise ParameterError(["suspend: expected true or false"], subject="schedule")
        runbook, profile = await blocking(_runbook, name)
        runbook.validate(params)  # before anything reaches the cluster
        require_live_cluster(profile)

        def create() -> Any:
            return runbook.schedule(cron, params, schedule_name, profile, suspend=suspend)

        self.write_json(schedule_json(await blocking(create)), 201)
