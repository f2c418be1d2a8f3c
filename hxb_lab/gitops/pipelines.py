"""Tekton PipelineRuns and TaskRuns as rows: status, duration, the step that failed, and
the image or model version a run built (from its results, else HXB Lab's labels)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame
from hxb_lab.cluster.optional import missing_status

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PIPELINE_RUN_COLUMNS", "TASK_RUN_COLUMNS", "pipeline_runs_frame", "task_runs_frame"]

Obj = dict[str, Any]
Workspaces = Mapping[str, Mapping[str, str]]
#: The labels Tekton puts on a TaskRun of a PipelineRun.
PIPELINE_RUN_LABEL = "tekton.dev/pipelineRun"
PIPELINE_TASK_LABEL = "tekton.dev/pipelineTask"
#: Results that name what a run built (Tekton Chains' type hints and HXB Lab's own), and
#: the labels the platform's deploy pipeline sets when results are absent.
IMAGE_RESULTS = ("image_url", "image")
DIGEST_RESULTS = ("image_digest",)
MODEL_RESULTS = ("model_name", "model")
VERSION_RESULTS = ("model_version",)
MODEL_LABEL, VERSION_LABEL = "hxb.io/model", "hxb.io/model-version"
CANCELLED = frozenset(
    {
        "Cancelled",
        "PipelineRunCancelled",
        "TaskRunCancelled",
        "CancelledRunFinally",
        "StoppedRunFinally",
    }
)

TASK_RUN_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("pipeline_run", "str"),
    ("task", "str"),
    ("status", "str"),
    ("reason", "str"),
    ("message", "str"),
    ("failed_step", "str"),
    ("exit_code", "Int64"),
    ("pod", "str"),
    ("image", "str"),
    ("started", _frame.TIMESTAMP),
    ("finished", _frame.TIMESTAMP),
    ("duration_ms", "float64"),
    ("created", _frame.TIMESTAMP),
)

PIPELINE_RUN_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("workspace", "str"),
    ("name", "str"),
    ("pipeline", "str"),
    ("status", "str"),
    ("reason", "str"),
    ("message", "str"),
    ("task_runs", "int64"),
    ("failed_task", "str"),
    ("failed_step", "str"),
    ("image", "str"),
    ("model", "str"),
    ("model_version", "str"),
    ("started", _frame.TIMESTAMP),
    ("finished", _frame.TIMESTAMP),
    ("duration_ms", "float64"),
    ("created", _frame.TIMESTAMP),
)


def _succeeded(status: Mapping[str, Any]) -> Mapping[str, Any]:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Succeeded":
            return condition  # type: ignore[no-any-return]
    return {}


def run_state(status: Mapping[str, Any]) -> tuple[str, str, str]:
    """(status, reason, message) of a run: Succeeded, Failed, Cancelled, Running, Pending;
    empty when the run has no status yet."""
    condition = _succeeded(status)
    if not condition:
        return ("Pending" if status else "", "", "")
    reason = str(condition.get("reason") or "")
    message = str(condition.get("message") or "")
    state = condition.get("status")
    if state == "True":
        word = "Succeeded"
    elif state == "False":
        word = "Cancelled" if reason in CANCELLED else "Failed"
    else:
        word = "Pending" if "Pending" in reason else "Running"
    return word, reason, message


def _with_durations(frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Fill ``duration_ms``: finished (now while running) minus started; NaN unstarted."""
    import pandas as pd

    end = frame["finished"].fillna(pd.Timestamp(now))
    frame["duration_ms"] = (
        ((end - frame["started"]).dt.total_seconds() * 1000.0).clip(lower=0.0).astype("float64")
    )
    return frame


def _results(status: Mapping[str, Any]) -> dict[str, str]:
    """Results by normalised name (v1 ``results``; v1beta1 ``taskResults`` and
    ``pipelineResults``)."""
    found: dict[str, str] = {}
    for key in ("results", "taskResults", "pipelineResults"):
        for result in status.get(key) or ():
            value = result.get("value")
            if isinstance(value, str):
                found[str(result.get("name", "")).lower().replace("-", "_")] = value
    return found


def _first(results: Mapping[str, str], names: Iterable[str]) -> str:
    return next((results[n] for n in names if results.get(n)), "")


def _image(results: Mapping[str, str]) -> str:
    image = _first(results, IMAGE_RESULTS)
    digest = _first(results, DIGEST_RESULTS)
    if image and digest and "@" not in image:
        return f"{image}@{digest}"
    return image


def _failed_step(status: Mapping[str, Any]) -> tuple[str, int | None]:
    for step in status.get("steps") or ():
        terminated = step.get("terminated") or {}
        code = terminated.get("exitCode")
        if code not in (None, 0):
            return str(step.get("name") or ""), int(code)
    return "", None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _task_row(cluster: str, run: Obj, workspaces: Workspaces) -> tuple[Any, ...]:
    meta = run.get("metadata") or {}
    spec = run.get("spec") or {}
    status = run.get("status") or {}
    labels = _labels(run)
    namespace = meta.get("namespace") or ""
    state, reason, message = run_state(status)
    step, code = _failed_step(status)
    task = labels.get(PIPELINE_TASK_LABEL) or (spec.get("taskRef") or {}).get("name") or ""
    return (
        cluster,
        namespace,
        workspaces.get(cluster, {}).get(namespace, ""),
        meta.get("name") or "",
        labels.get(PIPELINE_RUN_LABEL, ""),
        task,
        state,
        reason,
        message,
        step,
        code,
        status.get("podName") or "",
        _image(_results(status)),
        status.get("startTime"),
        status.get("completionTime"),
        float("nan"),
        meta.get("creationTimestamp"),
    )


def task_runs_frame(
    items: Iterable[tuple[str, Obj]], workspaces: Workspaces, now: datetime
) -> pd.DataFrame:
    """One row per TaskRun, newest first; see `GitOps.task_runs`."""
    rows, unreconciled = [], []
    for cluster, run in items:
        if not run.get("status"):
            unreconciled.append(f"{run['metadata'].get('namespace')}/{run['metadata']['name']}")
        rows.append(_task_row(cluster, run, workspaces))
    missing_status("TaskRun", unreconciled)
    rows.sort(key=lambda r: (str(r[16] or ""), r[0], r[1], r[3]), reverse=True)
    return _with_durations(_frame.build(TASK_RUN_COLUMNS, rows), now)


def pipeline_runs_frame(
    items: Iterable[tuple[str, Obj]],
    task_runs: Iterable[tuple[str, Obj]],
    workspaces: Workspaces,
    now: datetime,
) -> pd.DataFrame:
    """One row per PipelineRun, newest first, with its failed TaskRun and what it built;
    see `GitOps.pipeline_runs`."""
    children: dict[tuple[str, str, str], list[Obj]] = {}
    for cluster, task_run in task_runs:
        parent = _labels(task_run).get(PIPELINE_RUN_LABEL)
        if parent:
            key = (cluster, task_run["metadata"].get("namespace") or "", parent)
            children.setdefault(key, []).append(task_run)
    rows, unreconciled = [], []
    for cluster, run in items:
        meta = run.get("metadata") or {}
        spec = run.get("spec") or {}
        status = run.get("status") or {}
        namespace = meta.get("namespace") or ""
        if not status:
            unreconciled.append(f"{namespace}/{meta.get('name')}")
        kids = children.get((cluster, namespace, meta.get("name") or ""), [])
        state, reason, message = run_state(status)
        failed_task = failed_step = ""
        for kid in kids if state == "Failed" else ():
            if run_state(kid.get("status") or {})[0] == "Failed":
                failed_task = _labels(kid).get(PIPELINE_TASK_LABEL, kid["metadata"]["name"])
                failed_step = _failed_step(kid.get("status") or {})[0]
                break
        results = _results(status)
        image = _image(results) or next(
            (i for k in kids if (i := _image(_results(k.get("status") or {})))), ""
        )
        labels = _labels(run)
        pipeline = (spec.get("pipelineRef") or {}).get("name") or labels.get("tekton.dev/pipeline")
        rows.append(
            (
                cluster,
                namespace,
                workspaces.get(cluster, {}).get(namespace, ""),
                meta.get("name") or "",
                pipeline or "",
                state,
                reason,
                message,
                len(kids) or len(status.get("childReferences") or ()),
                failed_task,
                failed_step,
                image,
                _first(results, MODEL_RESULTS) or labels.get(MODEL_LABEL, ""),
                _first(results, VERSION_RESULTS) or labels.get(VERSION_LABEL, ""),
                status.get("startTime"),
                status.get("completionTime"),
                float("nan"),
                meta.get("creationTimestamp"),
            )
        )
    missing_status("PipelineRun", unreconciled)
    rows.sort(key=lambda r: (str(r[17] or ""), r[0], r[1], r[3]), reverse=True)
    return _with_durations(_frame.build(PIPELINE_RUN_COLUMNS, rows), now)
