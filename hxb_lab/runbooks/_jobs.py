"""Runs as the cluster sees them: the runbook Jobs of a profile's namespace and their pods.

A run submitted as a Job records itself in MLflow only once its pod runs the notebook. Until
then, and when the pod never gets that far (not scheduled, its image missing, killed for
memory, past its deadline, its Job deleted), the Job and pod status are all there is.
`with_jobs` adds those runs to the MLflow history and corrects the runs whose record says
``running`` while their Job says otherwise; `pod_log` reads a run's pod log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab import times
from hxb_lab.clients.kube import KubeContext, kubeconfig_paths, open_kube
from hxb_lab.config import Profile
from hxb_lab.errors import ClusterError, ConfigError, NotFoundError, ParameterError, RunbookError
from hxb_lab.runbooks import _manifests as M
from hxb_lab.runbooks import _trigger
from hxb_lab.runbooks._run import STATUSES
from hxb_lab.warn import warn_user

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["JOB_STATUSES", "check_status", "job_runs", "pod_log", "with_jobs"]

#: Statuses only a Job can have: no pod has recorded the run yet.
JOB_STATUSES = ("submitted", "pending")
_IMAGE_PROBLEMS = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName")
_SELECTOR = ",".join(f"{k}={v}" for k, v in M.MANAGED.items())


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def _container(pod: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The runbook container's spec and status (empty when the pod has none yet)."""
    specs = pod.get("spec", {}).get("containers") or [{}]
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return specs[0], statuses[0]


def _terminated(pod: dict[str, Any]) -> str:
    """Why the pod's container ended, in a user's words."""
    spec, status = _container(pod)
    ended = (status.get("state") or {}).get("terminated") or (
        status.get("lastState") or {}
    ).get("terminated") or {}  # fmt: skip
    code, reason = ended.get("exitCode"), ended.get("reason") or ""
    if reason == "OOMKilled" or code == 137:
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory", "none")
        return (
            f"OOM-killed (exit 137): the pod went over its memory limit of {limit}; "
            "raise it, or make the runbook read less"
        )
    if code is not None:
        return f"its container exited with code {code}" + (f" ({reason})" if reason else "")
    return ""


def _pending(pod: dict[str, Any]) -> tuple[str, str | None]:
    """(status, why) of a pod that has not started its container."""
    spec, status = _container(pod)
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason, message = waiting.get("reason") or "", waiting.get("message") or ""
    if reason in _IMAGE_PROBLEMS:
        image = spec.get("image", "?")
        return "pending", (
            f"image {image} is not present on the node ({reason}): {message}".rstrip(": ")
            + "; build or push it, or set runbooks.image in the profile"
        )
    if reason and reason not in ("ContainerCreating", "PodInitializing"):
        return "pending", f"{reason}: {message}".rstrip(": ")
    scheduled = next(
        (c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") == "PodScheduled"),
        None,
    )  # fmt: skip
    if scheduled and scheduled.get("status") == "False":
        why = scheduled.get("message") or scheduled.get("reason") or "no reason given"
        return "pending", f"not scheduled: {why}"
    return "submitted", None


def _state(job: dict[str, Any], pod: dict[str, Any] | None) -> tuple[str, str | None]:
    """(status, error) of a Job from its conditions and its newest pod."""
    name = job["metadata"]["name"]
    if job["metadata"].get("deletionTimestamp"):
        return "cancelled", f"job/{name} was deleted"
    failed = _condition(job, "Failed") or _condition(job, "FailureTarget")
    if failed:
        if failed.get("reason") == "DeadlineExceeded":
            limit = job.get("spec", {}).get("activeDeadlineSeconds")
            return "timed_out", (
                f"deadline exceeded: job/{name} ran past its activeDeadlineSeconds ({limit} s)"
            )
        detail = _terminated(pod) if pod else ""
        return "failed", detail or failed.get("message") or f"job/{name} failed"
    if _condition(job, "Complete") or _condition(job, "SuccessCriteriaMet"):
        return "succeeded", None
    if pod is None:
        return "submitted", None
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Running":
        return "running", None
    if phase in ("Failed", "Succeeded"):
        ended = _terminated(pod)
        return ("failed", ended) if phase == "Failed" else ("succeeded", None)
    return _pending(pod)


def _runbook_of(job: dict[str, Any]) -> str:
    """The runbook's own name: the pod's command is ``hxb-lab runbook exec NAME``."""
    spec, _ = _container({"spec": job["spec"]["template"].get("spec", {})})
    command = spec.get("command") or []
    if command[:3] == ["hxb-lab", "runbook", "exec"] and len(command) > 3:
        return str(command[3])
    return str(job["metadata"].get("labels", {}).get(M.LABEL_RUNBOOK, ""))


def _items(ctx: KubeContext, kind: str, path: str, namespace: str) -> Iterator[dict[str, Any]]:
    for page in ctx.list_pages(
        path, [("labelSelector", _SELECTOR)], what=("list", kind, namespace)
    ):
        yield from page.get("items") or []


def _read(profile: Profile) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The runbook Jobs of the profile's runbook namespace, and each Job's newest pod."""
    namespace = profile.runbooks.namespace
    ctx = open_kube(profile).contexts[0]
    jobs = list(_items(ctx, "jobs", f"/apis/batch/v1/namespaces/{namespace}/jobs", namespace))
    newest: dict[str, dict[str, Any]] = {}
    for pod in _items(ctx, "pods", f"/api/v1/namespaces/{namespace}/pods", namespace):
        labels = pod["metadata"].get("labels", {})
        job = labels.get(M.JOB_NAME_LABEL) or labels.get("job-name")
        if job and pod["metadata"].get("creationTimestamp", "") >= newest.get(job, {}).get(
            "metadata", {}
        ).get("creationTimestamp", ""):
            newest[job] = pod
    return jobs, newest


def job_runs(profile: Profile) -> list[dict[str, Any]]:
    """One `runs()` row per runbook Job of the profile's runbook namespace, from its status."""
    jobs, pods = _read(profile)
    rows = []
    for job in jobs:
        meta, status = job["metadata"], job.get("status") or {}
        pod = pods.get(meta["name"])
        state, error = _state(job, pod)
        annotations = meta.get("annotations", {})
        try:
            parameters = json.loads(annotations.get(M.ANNOTATION_PARAMETERS, "{}"))
        except ValueError:
            parameters = {}
        ended = _condition(job, "Failed") or _condition(job, "Complete")
        rows.append(
            {
                "run_id": meta.get("labels", {}).get(M.LABEL_RUN_ID) or meta["name"],
                "runbook": _runbook_of(job),
                "status": state,
                "started": _time(status.get("startTime") or meta.get("creationTimestamp")),
                "finished": _time(status.get("completionTime") or (ended or {}).get(
                    "lastTransitionTime")),
                "duration_ms": None,
                "profile": annotations.get(M.ANNOTATION_PROFILE, profile.name),
                "executor": "kubernetes",
                "kubernetes_job": meta["name"],
                "parameters": parameters,
                "metrics": {},
                "report_uri": None,
                "notebook_uri": None,
                "error": error,
                "mlflow_run_id": None,
                "trigger": _trigger.read(annotations.get(_trigger.ANNOTATION_TRIGGER)),
            }
        )  # fmt: skip
    return rows


def check_status(status: str | None) -> None:
    """`ParameterError` unless `status` is a run status (or None)."""
    known = (*JOB_STATUSES, *STATUSES)
    if status is not None and status not in known:
        raise ParameterError([f"status: {status!r} is not one of {', '.join(known)}"])


def with_jobs(
    history: pd.DataFrame,
    profile: Profile,
    name: str | None = None,
    status: str | None = None,
    since: datetime | timedelta | str | None = None,
) -> pd.DataFrame:
    """`history` (MLflow's runs) with the runbook Jobs that have no record yet, and the
    records still ``running`` corrected by their Job's status (killed, past its deadline,
    deleted). A profile whose cluster is a snapshot, or whose cluster cannot be read,
    gives `history` as it is (the latter with a warning)."""
    import pandas as pd

    check_status(status)
    moment = times.since(since, datetime.now(UTC))
    if profile.kube.snapshot or not any(p.is_file() for p in kubeconfig_paths(profile)):
        return history if status is None else history[history["status"] == status]
    try:
        jobs = job_runs(profile)
    except (ClusterError, ConfigError) as exc:
        warn_user(f"runs: the runbook Jobs of namespace {profile.runbooks.namespace!r} "
                  f"are left out: {str(exc).splitlines()[0]}")  # fmt: skip
        return history if status is None else history[history["status"] == status]
    by_job = {row["kubernetes_job"]: row for row in jobs}
    rows = history.to_dict(orient="records")
    recorded = set()
    for row in rows:
        job_name = row.get("kubernetes_job")
        if not job_name or row.get("executor") != "kubernetes":
            continue
        recorded.add(job_name)
        job = by_job.get(job_name)
        if row.get("trigger") is None and job is not None:  # its pod has not recorded it yet
            row["trigger"] = job["trigger"]
        if row["status"] != "running" or row.get("profile") != profile.name:
            continue
        if job is None:
            row["status"], row["error"] = "cancelled", f"job/{job_name} was deleted"
        elif job["status"] not in ("running", "submitted"):
            row["status"], row["error"] = job["status"], job["error"]
            row["finished"] = row["finished"] if row["finished"] == row["finished"] else None
    for job in jobs:
        if job["kubernetes_job"] in recorded:
            continue
        if name is not None and job["runbook"] != name:
            continue
        if moment is not None and job["started"] is not None and job["started"] < moment:
            continue
        rows.append(job)
    if status is not None:
        rows = [row for row in rows if row["status"] == status]
    frame = pd.DataFrame(rows, columns=list(history.columns))
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    frame["duration_ms"] = frame["duration_ms"].astype("float64")
    for column in ("parameters", "metrics"):
        frame[column] = frame[column].astype("object")
    for column in ("profile", "executor", "kubernetes_job", "report_uri", "notebook_uri", "error",
                   "mlflow_run_id", "trigger"):  # fmt: skip
        frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    return frame.sort_values("started", ascending=False, ignore_index=True, na_position="first")


# ------------------------------------------------------------------------------ logs


def _find_pod(profile: Profile, run_id: str, job_name: str | None) -> dict[str, Any]:
    jobs, pods = _read(profile)
    namespace = profile.runbooks.namespace
    for job in jobs:
        meta = job["metadata"]
        if run_id in (meta.get("labels", {}).get(M.LABEL_RUN_ID), meta["name"]) or (
            job_name and meta["name"] == job_name
        ):
            pod = pods.get(meta["name"])
            if pod is None:
                raise RunbookError(
                    f"run {run_id!r} has no log yet: job/{meta['name']} has no pod yet",
                    hint="wait, then see `hxb-lab runbook runs` for its status",
                )
            return pod
    raise NotFoundError(
        f"no runbook Job for run {run_id!r} in namespace {namespace!r}",
        hint="its Job may have been deleted, or the run was not submitted to Kubernetes; "
        "list runs with `hxb-lab runbook runs`",
    )


def pod_log(
    profile: Profile, run_id: str, *, follow: bool = False, job_name: str | None = None
) -> Iterator[bytes]:
    """The log of the run's pod, through the API server (with `follow`, until the pod ends),
    in chunks. `RunbookError` naming the pod and why when it has no log yet; checked before
    this returns."""
    pod = _find_pod(profile, run_id, job_name)
    meta = pod["metadata"]
    state, why = _pending(pod)
    started = (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed")
    if not started:
        reason = why or "its container has not started"
        raise RunbookError(
            f"run {run_id!r} has no log yet: pod {meta['name']} is {state} ({reason})",
            hint="see `hxb-lab runbook runs` for its status; try again once it runs",
        )
    namespace = meta["namespace"]
    params = [("container", "runbook")] + ([("follow", "true")] if follow else [])
    ctx = open_kube(profile).contexts[0]
    try:
        resp = ctx.open(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{meta['name']}/log", params,
            read_timeout=None if not follow else 24 * 3600.0,
            what=("get", "pods/log", namespace),
        )  # fmt: skip
    except ClusterError as exc:
        if "HTTP 400" in str(exc):
            raise RunbookError(
                f"run {run_id!r} has no log yet: pod {meta['name']}: "
                f"{str(exc).split('HTTP 400: ', 1)[-1]}",
                hint="see `hxb-lab runbook runs` for its status",
            ) from None
        raise
    return _stream(resp)


def _stream(resp: Any) -> Iterator[bytes]:
    try:
        yield from resp.stream(64 * 1024)
    finally:
        resp.release_conn()
