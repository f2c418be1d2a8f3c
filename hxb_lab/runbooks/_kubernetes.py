"""The ``kubernetes`` executor: a run submitted as a Job, or scheduled as a CronJob; and the
schedules' list, suspend, resume and delete.

The objects come from `_manifests`; they go to the profile's cluster (its first kube
context) in the profile's runbook namespace. Server-side apply makes `schedule` and the
shared profile ConfigMap idempotent; a run's own objects are created, never overwritten.
The pod then runs the runbook with the local executor (`_exec`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab.clients.kube import KubeContext, open_kube
from hxb_lab.config import Profile
from hxb_lab.errors import ConflictError, NotFoundError, RunbookError
from hxb_lab.runbooks import _manifests as M
from hxb_lab.runbooks._cron import check_cron
from hxb_lab.runbooks._executors import RunOptions
from hxb_lab.runbooks._parameters import redacted
from hxb_lab.runbooks._preflight import check_objects
from hxb_lab.runbooks._run import new_run_id

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.runbooks._catalog import Runbook

__all__ = [
    "SCHEDULE_COLUMNS",
    "KubernetesExecutor",
    "Schedule",
    "Submission",
    "delete_schedule",
    "list_schedules",
    "schedule",
    "set_suspended",
    "submit",
]

FIELD_MANAGER = "hxb-lab"
SCHEDULE_COLUMNS = [
    "name", "runbook", "cron", "suspended", "parameters", "last_schedule", "created", "namespace",
]  # fmt: skip
_PATHS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs",
}
_PLURAL = {"ConfigMap": "configmaps", "Secret": "secrets", "Job": "jobs", "CronJob": "cronjobs"}


@dataclass(frozen=True)
class Submission:
    """A runbook run submitted as a Kubernetes Job."""

    name: str  # the Job's name
    namespace: str
    runbook: str
    run_id: str
    parameters: dict[str, Any]  # secrets "***"
    objects: list[dict[str, Any]] = field(repr=False, default_factory=list)  # as created

    def __str__(self) -> str:
        return f"job/{self.name} in namespace {self.namespace} (run {self.run_id})"


@dataclass(frozen=True)
class Schedule:
    """A runbook scheduled as a Kubernetes CronJob."""

    name: str
    namespace: str
    runbook: str
    cron: str
    suspended: bool
    parameters: dict[str, Any]
    objects: list[dict[str, Any]] = field(repr=False, default_factory=list)

    def __str__(self) -> str:
        state = " (suspended)" if self.suspended else ""
        return f"cronjob/{self.name} in namespace {self.namespace}: {self.cron!r}{state}"


def _context(profile: Profile) -> KubeContext:
    return open_kube(profile).contexts[0]


def _path(kind: str, namespace: str, name: str | None = None) -> str:
    base = _PATHS[kind].format(ns=namespace)
    return f"{base}/{name}" if name else base


def _what(kind: str, verb: str, namespace: str) -> tuple[str, str, str | None]:
    return (verb, _PLURAL[kind], namespace)


def _create(ctx: KubeContext, obj: dict[str, Any]) -> dict[str, Any]:
    ns, kind = obj["metadata"]["namespace"], obj["kind"]
    try:
        created: dict[str, Any] = ctx.json(
            "POST", _path(kind, ns), [("fieldManager", FIELD_MANAGER)], obj,
            what=_what(kind, "create", ns),
        )  # fmt: skip
    except ConflictError:
        raise RunbookError(
            f"{kind} {obj['metadata']['name']!r} already exists in namespace {ns!r}",
            hint="pass another name",
        ) from None
    except NotFoundError:
        raise NotFoundError(
            f"namespace {ns!r} does not exist on context {ctx.name!r}",
            hint="create it, and its service account with `hxb-lab runbook rbac`, "
            "or set runbooks.namespace in the profile",
        ) from None
    return created


def _apply(ctx: KubeContext, obj: dict[str, Any]) -> dict[str, Any]:
    ns, kind, name = obj["metadata"]["namespace"], obj["kind"], obj["metadata"]["name"]
    try:
        applied: dict[str, Any] = ctx.json(
            "PATCH",
            _path(kind, ns, name),
            [("fieldManager", FIELD_MANAGER), ("force", "true")],
            obj,
            content_type="application/apply-patch+yaml",
            what=_what(kind, "patch", ns),
        )
    except NotFoundError:
        raise NotFoundError(
            f"namespace {ns!r} does not exist on context {ctx.name!r}",
            hint="create it, or set runbooks.namespace in the profile",
        ) from None
    return applied


def _own(ctx: KubeContext, objects: list[dict[str, Any]], owner: dict[str, Any]) -> None:
    """Make the run's ConfigMap and Secret belong to its Job (or CronJob): they go with it."""
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    for obj in objects:
        if obj["kind"] in ("ConfigMap", "Secret") and M.LABEL_RUNBOOK in obj["metadata"]["labels"]:
            ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
            ctx.json(
                "PATCH", _path(obj["kind"], ns, name), [], {"metadata": {"ownerReferences": [ref]}},
                content_type="application/merge-patch+json", what=_what(obj["kind"], "patch", ns),
            )  # fmt: skip


def _needs(objects: list[dict[str, Any]], *, create: bool) -> list[tuple[str, str]]:
    """(verb, kind) the user must be allowed, in order: a run's own objects are created,
    shared and scheduled ones applied (patch), and the ConfigMap and Secret then owned."""
    needs = []
    for obj in objects:
        own = M.LABEL_RUNBOOK in obj["metadata"]["labels"]
        needs.append(("create" if create and own else "patch", obj["kind"]))
    needs += [("patch", o["kind"]) for o in objects if o["kind"] in ("ConfigMap", "Secret")]
    return needs


def _remove(ctx: KubeContext, objects: list[dict[str, Any]]) -> None:
    """Delete what a failed submission created (best effort: the failure is what matters)."""
    for obj in reversed(objects):
        ns, kind, name = obj["metadata"]["namespace"], obj["kind"], obj["metadata"]["name"]
        with contextlib.suppress(Exception):
            ctx.json("DELETE", _path(kind, ns, name), [], None, what=_what(kind, "delete", ns))


def submit(runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> Submission:
    """Create the Job (and the ConfigMaps and Secret it needs) for one run."""
    values = runbook.validate(params)
    profile = options.profile
    run_id = options.run_id or new_run_id()
    job_name = M.dns_name(options.name or f"rb-{runbook.name}-{run_id.rsplit('-', 1)[-1]}")
    objects = M.job(
        runbook,
        profile,
        values,
        name=job_name,
        run_id=run_id,
        timeout_s=options.timeout,
        trigger=options.trigger,
    )
    ctx = _context(profile)
    check_objects(ctx, profile, objects, _needs(objects, create=True))
    created: list[dict[str, Any]] = []
    try:
        for obj in objects:
            shared = obj["kind"] == "ConfigMap" and M.LABEL_RUNBOOK not in obj["metadata"]["labels"]
            created.append(_apply(ctx, obj) if shared else _create(ctx, obj))
        _own(ctx, objects, created[-1])
    except Exception:
        _remove(ctx, [o for o in created if M.LABEL_RUNBOOK in o["metadata"]["labels"]])
        raise
    return Submission(
        name=job_name,
        namespace=profile.runbooks.namespace,
        runbook=runbook.name,
        run_id=run_id,
        parameters=redacted(runbook.parameters, values),
        objects=created,
    )


def schedule(
    runbook: Runbook,
    cron: str,
    params: Mapping[str, Any],
    options: RunOptions,
    *,
    suspend: bool = False,
) -> Schedule:
    """Create or update the CronJob that runs the runbook on `cron` (checked first)."""
    cron = check_cron(cron)
    values = runbook.validate(params)
    profile = options.profile
    cron_name = M.dns_name(options.name or f"rb-{runbook.name}")
    objects = M.cron_job(
        runbook, profile, values, name=cron_name, cron=cron, suspend=suspend,
        timeout_s=options.timeout,
    )  # fmt: skip
    ctx = _context(profile)
    check_objects(ctx, profile, objects, _needs(objects, create=False))
    applied = [_apply(ctx, obj) for obj in objects]
    _own(ctx, objects, applied[-1])
    return _schedule(applied[-1], applied)


def _schedule(obj: dict[str, Any], objects: list[dict[str, Any]] | None = None) -> Schedule:
    meta = obj["metadata"]
    try:
        parameters = json.loads(meta.get("annotations", {}).get(M.ANNOTATION_PARAMETERS, "{}"))
    except ValueError:
        parameters = {}
    return Schedule(
        name=meta["name"],
        namespace=meta["namespace"],
        runbook=meta.get("labels", {}).get(M.LABEL_RUNBOOK, ""),
        cron=obj["spec"]["schedule"],
        suspended=bool(obj["spec"].get("suspend", False)),
        parameters=parameters,
        objects=objects or [obj],
    )


def _get_schedule(ctx: KubeContext, name: str, namespace: str) -> dict[str, Any]:
    try:
        obj: dict[str, Any] = ctx.json(
            "GET", _path("CronJob", namespace, name), what=_what("CronJob", "get", namespace)
        )
    except NotFoundError:
        raise NotFoundError(
            f"no runbook schedule {name!r} in namespace {namespace!r}",
            hint="list them with `hxb-lab runbook schedules`",
        ) from None
    if obj["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") != "hxb-lab":
        raise RunbookError(f"cronjob {name!r} in namespace {namespace!r} is not a runbook schedule")
    return obj


def set_suspended(name: str, suspended: bool, profile: Profile) -> Schedule:
    """Suspend or resume a schedule."""
    ctx = _context(profile)
    namespace = profile.runbooks.namespace
    _get_schedule(ctx, name, namespace)
    obj = ctx.json(
        "PATCH", _path("CronJob", namespace, name), [], {"spec": {"suspend": suspended}},
        content_type="application/merge-patch+json", what=_what("CronJob", "patch", namespace),
    )  # fmt: skip
    return _schedule(obj)


def delete_schedule(name: str, profile: Profile) -> None:
    """Delete a schedule's CronJob and the ConfigMap and Secret made for it."""
    ctx = _context(profile)
    namespace = profile.runbooks.namespace
    _get_schedule(ctx, name, namespace)
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    ctx.json("DELETE", _path("CronJob", namespace, name), [], body,
             what=_what("CronJob", "delete", namespace))  # fmt: skip
    for kind, suffix in (("ConfigMap", "-notebook"), ("Secret", "-secrets")):
        with contextlib.suppress(NotFoundError):
            path = _path(kind, namespace, name + suffix)
            ctx.json("DELETE", path, [], body, what=_what(kind, "delete", namespace))


def list_schedules(profile: Profile) -> pd.DataFrame:
    """The runbook CronJobs of the profile's runbook namespace; see `hx.runbooks.schedules`."""
    import pandas as pd

    ctx = _context(profile)
    namespace = profile.runbooks.namespace
    selector = ",".join(f"{k}={v}" for k, v in M.MANAGED.items())
    rows = []
    for page in ctx.list_pages(
        _path("CronJob", namespace), [("labelSelector", selector)],
        what=_what("CronJob", "list", namespace),
    ):  # fmt: skip
        for obj in page.get("items") or []:
            item = _schedule({**obj, "metadata": {**obj["metadata"], "namespace": namespace}})
            status = obj.get("status") or {}
            rows.append(
                {
                    "name": item.name,
                    "runbook": item.runbook,
                    "cron": item.cron,
                    "suspended": item.suspended,
                    "parameters": item.parameters,
                    "last_schedule": status.get("lastScheduleTime"),
                    "created": obj["metadata"].get("creationTimestamp"),
                    "namespace": namespace,
                }
            )
    frame = pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)
    for column in ("last_schedule", "created"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    frame["suspended"] = frame["suspended"].astype(bool)
    frame["parameters"] = frame["parameters"].astype(object)
    return frame.sort_values("name", ignore_index=True)


class KubernetesExecutor:
    """``kubernetes``: a Job per run, a CronJob per schedule, in the profile's cluster."""

    def execute(
        self, runbook: Runbook, params: Mapping[str, Any], options: RunOptions
    ) -> Submission:
        return submit(runbook, params, options)

    def schedule(
        self,
        runbook: Runbook,
        cron: str,
        params: Mapping[str, Any],
        options: RunOptions,
        *,
        suspend: bool = False,
    ) -> Schedule:
        return schedule(runbook, cron, params, options, suspend=suspend)
