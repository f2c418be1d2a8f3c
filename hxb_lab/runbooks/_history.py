"""Run history in MLflow: each run is an MLflow run in experiment ``runbooks/<name>``.

Recorded: the parameters (secrets as ``***``), tags (profile, executor, Kubernetes job,
status, error, artifact URIs), the metrics the runbook logged with
`hx.runbooks.log_metric`, and the output notebook and report, uploaded to the profile's
artifact store. History is read back from MLflow (`runs`), not from a store of our own.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab import times
from hxb_lab.clients.mlflow import TrackingStore, open_recording_store, open_store, unavailable
from hxb_lab.config import Profile
from hxb_lab.errors import HxbLabError, NotFoundError, ParameterError, QueryError
from hxb_lab.frozen import FROZEN_DIR
from hxb_lab.runbooks import _trigger
from hxb_lab.runbooks._artifacts import ArtifactStore, join
from hxb_lab.runbooks._run import METRICS_FILE, STATUSES, Run

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RUNS_COLUMNS",
    "Recorder",
    "RunAbandoned",
    "complete_run",
    "experiment_name",
    "failure",
    "find_run",
    "open_run",
    "read_report",
    "record_outcome",
    "runs",
    "tags_of",
]

EXPERIMENT_PREFIX = "runbooks/"
#: In a run's directory: held by whoever creates the run's MLflow run (see `opening`).
OPENING_LOCK = "mlflow.lock"
TAG = "hxb_lab."
MLFLOW_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "timed_out": "FAILED",
                 "cancelled": "KILLED", "running": "RUNNING"}  # fmt: skip
RUNS_COLUMNS = [
    "run_id",
    "runbook",
    "status",
    "started",
    "finished",
    "duration_ms",
    "profile",
    "executor",
    "kubernetes_job",
    "parameters",
    "metrics",
    "report_uri",
    "notebook_uri",
    "error",
    "mlflow_run_id",
    "trigger",
]
_PARAM_LIMIT = 6000  # MLflow's longest parameter value


def experiment_name(runbook: str) -> str:
    return EXPERIMENT_PREFIX + runbook


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _experiment(store: TrackingStore, name: str, artifact_location: str) -> str:
    experiment = store.get_experiment_by_name(name)
    if experiment is not None:
        if experiment["lifecycle_stage"] == "deleted":
            store.restore_experiment(experiment["experiment_id"])
        return str(experiment["experiment_id"])
    try:
        return store.create_experiment(name, artifact_location)
    except Exception:  # created meanwhile by a concurrent run
        experiment = store.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment["experiment_id"])


def tags_of(run: Run) -> dict[str, str]:
    """The MLflow tags of a run."""
    tags = {
        TAG + "run_id": run.id,
        TAG + "runbook": run.runbook,
        TAG + "profile": run.profile,
        TAG + "executor": run.executor,
        TAG + "status": run.status,
        TAG + "parameters": json.dumps(run.parameters, default=str)[:_PARAM_LIMIT],
    }
    if run.kubernetes_job:
        tags[TAG + "kubernetes_job"] = run.kubernetes_job
    if run.report_uri:
        tags[TAG + "report_uri"] = run.report_uri
    if run.notebook_uri:
        tags[TAG + "notebook_uri"] = run.notebook_uri
    if run.error:
        tags[TAG + "error"] = run.error[:_PARAM_LIMIT]
    return tags


@contextmanager
def opening(run: Run) -> Iterator[None]:
    """Held while a process looks for, or creates, the MLflow run of `run`: the run's
    own helper and whoever ends a run whose process died take turns, so a run id gets one
    MLflow run even when both get there at once. No lock for a run without a directory
    (no second process records it)."""
    if run.directory is None or not run.directory.is_dir():
        yield
        return
    with open(run.directory / OPENING_LOCK, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


class RunAbandoned(Exception):
    """The process of a run died before its MLflow run was opened: whoever ends the run
    opens it (one MLflow run per run id)."""


def open_run(
    store: TrackingStore, profile: Profile, run: Run, owner_alive: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """Create the MLflow run (status RUNNING) in experiment ``runbooks/<name>``.

    `owner_alive` is asked just before the run is created (after the store's first call,
    which may load mlflow for seconds); `RunAbandoned` when it says no."""
    artifacts = ArtifactStore.of(profile)
    location = join(artifacts.uri, "runbooks", run.runbook)
    experiment_id = _experiment(store, experiment_name(run.runbook), location)
    with opening(run) if owner_alive is not None else nullcontext():
        if owner_alive is not None and not owner_alive():
            raise RunAbandoned(run.id)
        return store.create_run(experiment_id, _ms(run.started), tags_of(run), run.id)


def complete_run(store: TrackingStore, mlflow_run_id: str, run: Run) -> None:
    """Log the parameters, metrics and tags of a finished run, and its status."""
    params = {k: str(v)[:_PARAM_LIMIT] for k, v in run.parameters.items()}
    store.log_batch(mlflow_run_id, _metrics(run), params, tags_of(run))
    store.set_terminated(mlflow_run_id, MLFLOW_STATUS[run.status], _ms(run.finished or run.started))


def failure(profile: Profile, exc: BaseException | None) -> str:
    """One line saying why MLflow could not be used."""
    if isinstance(exc, HxbLabError):
        return str(exc)
    return str(unavailable(profile, exc or RuntimeError("unknown error")))


class Recorder:
    """Records one run in MLflow. `start()` opens the MLflow run in a background thread,
    while the kernel starts; `finish()` uploads the outputs and completes the MLflow run."""

    def __init__(self, profile: Profile, run: Run) -> None:
        self.profile = profile
        self.run = run
        self._thread = threading.Thread(target=self._open, name="hxb-mlflow", daemon=True)
        self._store: TrackingStore | None = None
        self._mlflow_run: dict[str, Any] | None = None
        self._error: str | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def helper_pid(self) -> int | None:
        """The process that records the run, when it is not this one (see `_recorder`)."""
        return None

    def fail(self, problem: str) -> None:
        """Open no MLflow run: `finish()` uploads the outputs and reports `problem`."""
        self._error = problem

    def adopt(self, store: TrackingStore, mlflow_run: dict[str, Any]) -> None:
        """Complete an MLflow run that exists already instead of opening one."""
        self._store, self._mlflow_run = store, mlflow_run

    def _open(self) -> None:
        try:
            self._store = open_recording_store(self.profile)
            self._mlflow_run = open_run(self._store, self.profile, self.run)
        except BaseException as exc:  # reported by finish(); the run itself goes on
            self._error = failure(self.profile, exc)

    def _opened(self) -> dict[str, Any] | None:
        """Wait for the MLflow run to exist; None (and `_error`) when it could not."""
        if self._thread.ident is not None:  # started (not adopted)
            self._thread.join()
        return self._mlflow_run

    def _complete(self, run: Run) -> str | None:
        """Complete the MLflow run; the problem, if any."""
        assert self._store is not None and self._mlflow_run is not None
        try:
            complete_run(self._store, self._mlflow_run["info"]["run_id"], run)
        except Exception as exc:
            return failure(self.profile, exc)
        finally:
            self._store.close()
        return None

    def _upload(self, store: ArtifactStore, base: str) -> None:
        run = self.run
        if run.report is not None and run.report.exists():
            run.report_uri = store.put(run.report, join(base, run.report.name))
        if run.output_notebook is not None and run.output_notebook.exists():
            run.notebook_uri = store.put(run.output_notebook, join(base, run.output_notebook.name))
        kept = None if run.directory is None else run.directory / FROZEN_DIR
        if kept is not None and kept.is_dir():  # the frames it read; their manifests last
            files = sorted(p for p in kept.rglob("*") if p.is_file() and p.suffix != ".tmp")
            for path in sorted(files, key=lambda p: p.suffix == ".json"):
                store.put(path, join(base, FROZEN_DIR, path.relative_to(kept).as_posix()))

    def finish(self, run: Run) -> None:
        """Upload the notebook and report, log parameters, metrics, tags and the status.

        A store that cannot be reached does not lose the run: it stays in its directory
        and the problem is added to `run.warnings`.
        """
        self.run = run
        mlflow_run = self._opened()
        artifacts = ArtifactStore.of(self.profile)
        base = join(artifacts.uri, "runbooks", run.runbook, run.id)
        if mlflow_run is not None and artifacts.owns(mlflow_run["info"]["artifact_uri"]):
            base = mlflow_run["info"]["artifact_uri"]  # MLflow's UI shows them too
        try:
            self._upload(artifacts, base)
        except HxbLabError as exc:
            run.warnings.append(f"outputs not uploaded: {exc}")
            if run.status == "succeeded":  # its outputs are not where its record says
                run.status, run.ename, run.evalue = "failed", "ArtifactStoreError", str(exc)
        if mlflow_run is None:
            run.warnings.append(f"run not recorded in MLflow: {self._error or 'unknown error'}")
            if self._store is not None:
                self._store.close()
            return
        run.mlflow_run_id = mlflow_run["info"]["run_id"]
        problem = self._complete(run)
        if problem:  # its MLflow run is not complete: reconciling completes it (`_reconcile`)
            run.mlflow_run_id = None
            run.warnings.append(f"run not recorded in MLflow: {problem}")


def _metrics(run: Run) -> list[dict[str, Any]]:
    """The metrics the runbook logged (every value, with its step and time)."""
    if run.directory is None:
        return []
    path = run.directory / METRICS_FILE
    found = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
                found.append(
                    {
                        "key": str(item["key"]),
                        "value": float(item["value"]),
                        "timestamp": int(item.get("timestamp") or _ms(run.started)),
                        "step": int(item.get("step") or 0),
                    }
                )
            except (ValueError, KeyError, TypeError):
                continue
    return found


# --------------------------------------------------------------------------- reading


def _search(
    profile: Profile, name: str | None, filters: list[str], max_results: int = 1000
) -> list[dict[str, Any]]:
    store: TrackingStore | None = None
    try:
        store = open_store(profile)
        if name:
            experiment = store.get_experiment_by_name(experiment_name(name))
            experiments = [experiment] if experiment is not None else []
        else:
            experiments = store.search_experiments(f"name LIKE '{EXPERIMENT_PREFIX}%'")
        ids = [e["experiment_id"] for e in experiments]
        if not ids:
            return []
        return store.search_runs(ids, " and ".join(filters), max_results)
    except (ParameterError, QueryError):
        raise
    except Exception as exc:
        raise unavailable(profile, exc) from None
    finally:
        if store is not None:
            store.close()


def _quote(value: str) -> str:
    """A string literal for an MLflow filter (values are checked before they get here)."""
    if not re.fullmatch(r"[A-Za-z0-9_.:/ -]*", value):
        raise ParameterError([f"{value!r} contains characters a run filter does not allow"])
    return f"'{value}'"


def _row(mlrun: dict[str, Any]) -> dict[str, Any]:
    info, data = mlrun["info"], mlrun["data"]
    tags = data["tags"]
    started = datetime.fromtimestamp(info["start_time"] / 1000, UTC)
    end = info["end_time"]
    finished = datetime.fromtimestamp(end / 1000, UTC) if end else None
    try:
        parameters = json.loads(tags.get(TAG + "parameters", "{}"))
    except ValueError:
        parameters = dict(data["params"])
    return {
        "run_id": tags.get(TAG + "run_id", info["run_id"]),
        "runbook": tags.get(TAG + "runbook", ""),
        "status": tags.get(TAG + "status", str(info["status"]).lower()),
        "started": started,
        "finished": finished,
        "duration_ms": (finished - started).total_seconds() * 1000.0 if finished else None,
        "profile": tags.get(TAG + "profile"),
        "executor": tags.get(TAG + "executor"),
        "kubernetes_job": tags.get(TAG + "kubernetes_job"),
        "parameters": parameters,
        "metrics": dict(data["metrics"]),
        "report_uri": tags.get(TAG + "report_uri"),
        "notebook_uri": tags.get(TAG + "notebook_uri"),
        "error": tags.get(TAG + "error"),
        "mlflow_run_id": info["run_id"],
        "trigger": _trigger.read(tags.get(TAG + "trigger")),
    }


def _one_per_run(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run id: a store written before a run had exactly one MLflow run may hold
    two (its host's FAILED beside its worker's RUNNING); the ended one is the run."""
    chosen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen = chosen.get(row["run_id"])
        if seen is None or (seen["status"] == "running" and row["status"] != "running"):
            chosen[row["run_id"]] = row
    return [row for row in rows if chosen[row["run_id"]] is row]


def runs(
    name: str | None = None,
    status: str | None = None,
    since: datetime | timedelta | str | None = None,
    profile: Profile | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Runbook runs recorded in the profile's MLflow, newest first.

    Columns: run_id, runbook, status (running, succeeded, failed, timed_out, cancelled),
    started, finished (datetime64[ns, UTC]), duration_ms (float), profile, executor (local
    or kubernetes), kubernetes_job, parameters (dict, secrets ``***``), metrics (dict),
    report_uri, notebook_uri, error (one line, None unless it failed), mlflow_run_id,
    trigger (dict: the alert that started the run, see `_trigger`; None if none did).
    `since` is a time or an age such as ``"6h"`` or ``"2d"``.
    """
    import pandas as pd

    from hxb_lab.config import load_profile

    profile = profile or load_profile()
    filters = []
    if status is not None:
        if status not in STATUSES:
            raise ParameterError([f"status: {status!r} is not one of {', '.join(STATUSES)}"])
        filters.append(f"tags.`{TAG}status` = {_quote(status)}")
    # Runs happen in real time, even on the demo (whose clock is its seed time): an age
    # such as "6h" is counted back from the wall clock.
    moment = times.since(since, datetime.now(UTC))
    if moment is not None:
        filters.append(f"attributes.start_time >= {_ms(moment)}")
    rows = _one_per_run([_row(r) for r in _search(profile, name, filters, max_results=limit)])
    frame = pd.DataFrame(rows, columns=RUNS_COLUMNS)
    for column in ("started", "finished"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    frame["duration_ms"] = frame["duration_ms"].astype("float64")
    for column in ("parameters", "metrics", "trigger"):
        frame[column] = frame[column].astype("object")
    return frame


def find_run(run_id: str, profile: Profile) -> dict[str, Any]:
    """One recorded run by its HXB Lab run id (or MLflow run id), as a `runs()` row."""
    found = _search(profile, None, [f"tags.`{TAG}run_id` = {_quote(run_id)}"], max_results=1)
    if not found and re.fullmatch(r"[0-9a-f]{32}", run_id):
        found = _search(profile, None, [f"attributes.run_id = {_quote(run_id)}"], max_results=1)
    if not found:
        raise NotFoundError(
            f"no runbook run {run_id!r} in the MLflow of profile {profile.name!r}",
            hint="list runs with `hxb-lab runbook runs`",
        )
    return _row(found[0])


def read_report(row: dict[str, Any], profile: Profile) -> bytes:
    """The HTML report of a recorded run, from the profile's artifact store and nowhere else."""
    uri = row.get("report_uri")
    if not uri:
        raise NotFoundError(f"run {row['run_id']!r} has no report in the artifact store")
    store = ArtifactStore.of(profile)
    if not store.owns(str(uri)):
        raise NotFoundError(
            f"the report of run {row['run_id']!r} is recorded outside the artifact store of "
            f"profile {profile.name!r}; it is not read",
            hint="a tag may have been edited in MLflow: check the run's hxb_lab.report_uri",
        )
    return store.get(str(uri))


def _recorded(run: Run, profile: Profile) -> list[dict[str, Any]]:
    """The MLflow runs of `run` (one, or none yet; more only in stores written before a
    run id had exactly one)."""
    return _search(profile, run.runbook, [f"tags.`{TAG}run_id` = {_quote(run.id)}"], 10)


def record_outcome(run: Run, profile: Profile) -> None:
    """Record how a run ended in MLflow when its own process could not (it died, or was
    stopped): its MLflow run, found by the run id, gets the run's status, error, end time
    and the outputs that exist; a run that never opened one gets one now (never a second).
    `HxbLabError` when MLflow could not be written."""
    with opening(run):  # the run's helper may be creating it right now: after it, or never
        found = _recorded(run, profile)
        problem = None
        if not found:
            store: TrackingStore | None = None
            try:
                store = open_recording_store(profile)
                found = [open_run(store, profile, run)]
            except Exception as exc:
                problem = failure(profile, exc)
            finally:
                if store is not None:
                    store.close()
    ends: list[dict[str, Any] | None] = [*found] or [None]
    for mlflow_run in ends:
        recorder = Recorder(profile, run)
        if mlflow_run is None:  # its outputs are still uploaded; then the problem is raised
            recorder.fail(problem or "unknown error")
        else:
            recorder.adopt(open_recording_store(profile), mlflow_run)
        warnings = len(run.warnings)
        recorder.finish(run)
        if len(run.warnings) > warnings:
            raise HxbLabError(run.warnings[-1])


# ---------------------------------------------------------------------- the audit trail


def set_tags(run_id: str, tags: dict[str, str], profile: Profile) -> None:
    """Add `tags` to the MLflow run of run `run_id` (an approval, the alert that started
    it); `NotFoundError` when MLflow has no such run, `BackendUnavailableError` when MLflow
    cannot be written."""
    mlflow_run_id = find_run(run_id, profile)["mlflow_run_id"]
    store: TrackingStore | None = None
    try:
        store = open_store(profile)
        store.log_batch(str(mlflow_run_id), [], {}, tags)
    except HxbLabError:
        raise
    except Exception as exc:
        raise unavailable(profile, exc) from None
    finally:
        if store is not None:
            store.close()


def search_audited(profile: Profile, tag: str, since: Any, limit: int) -> list[dict[str, Any]]:
    """The MLflow runs carrying `tag` = ``true`` (newest first), started since `since`."""
    filters = [f"tags.`{tag}` = 'true'"]
    moment = times.since(since, datetime.now(UTC))
    if moment is not None:
        filters.append(f"attributes.start_time >= {_ms(moment)}")
    return _search(profile, None, filters, max_results=limit)


def row_of(mlrun: dict[str, Any]) -> dict[str, Any]:
    """An MLflow run as a `runs()` row."""
    return _row(mlrun)
