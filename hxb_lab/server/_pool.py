"""Local runs of the server: a bounded pool of worker processes, run ids returned at once.

A run is validated, queued and answered with its id immediately; at most `workers` runs
execute at the same time, each in its own process (``hxb_lab.server._worker``), so the
server stays responsive whatever a runbook does. Cancelling a queued run drops it;
cancelling a running one interrupts it as Ctrl-C would (outputs kept). When the server
stops, running runs are stopped and recorded as failed with reason "server stopped", and
queued ones recorded as cancelled.

A run is on record from the moment it is queued (its ``run.json`` and a lease the server
renews); its worker takes the lease over when it starts, writes its stderr to the run's
``worker.log`` (never a pipe to the server, which may be gone) and records its own end.
Runs whose owner died without recording their end are reconciled when the server starts
and every `RECONCILE_S` seconds (`hxb_lab.runbooks.reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import ConflictError, NotFoundError
from hxb_lab.runbooks._lease import Heartbeat
from hxb_lab.runbooks._reconcile import OWNER_EXIT_S
from hxb_lab.runbooks._trigger import headline
from hxb_lab.server._records import SERVER_STOPPED, queue_record

if TYPE_CHECKING:
    from hxb_lab.config import Profile
    from hxb_lab.runbooks import Runbook

__all__ = ["DEFAULT_WORKERS", "RUNS_SETTING", "Job", "RunManager", "workers_from_env"]

DEFAULT_WORKERS = 2
#: The key of the `RunManager` in the tornado application's settings.
RUNS_SETTING = "hxb_lab_runs"
WORKERS_ENV = "HXB_LAB_RUN_WORKERS"
RECONCILE_S = 120.0  # how often the server looks for runs whose owner is gone
WORKER_LOG = "worker.log"
log = logging.getLogger("hxb_lab.server")


def workers_from_env(default: int = DEFAULT_WORKERS) -> int:
    """The pool size from ``HXB_LAB_RUN_WORKERS`` (a positive integer), else `default`."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from hxb_lab.errors import ConfigError

        raise ConfigError(
            f"{WORKERS_ENV}={raw!r} is not a positive integer", hint="e.g. HXB_LAB_RUN_WORKERS=2"
        )
    return value


@dataclass
class Job:
    """One run the server was asked for: queued, running, then the run's own status."""

    id: str
    runbook: str
    path: str
    profile: str
    parameters: dict[str, Any]  # secrets "***"
    executor: str = "local"
    status: str = "queued"
    submitted: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    kubernetes_job: str | None = None
    run: dict[str, Any] | None = None  # the finished Run as JSON
    values: dict[str, Any] = field(default_factory=dict, repr=False)  # with secrets
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    stop_reason: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    directory: Path | None = field(default=None, repr=False)  # its record, from queueing on
    timeout_s: float | None = None  # the run's time limit (None: none)
    started_by: str | None = None  # the Jupyter user who asked; the run's HXB_LAB_USER
    trigger: dict[str, Any] | None = None  # the alert that started it (None: a person)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def to_json(self) -> dict[str, Any]:
        run = self.run or {}
        finished = self.finished
        started = self.started
        duration = (finished - started).total_seconds() * 1000.0 if finished and started else None
        return {
            "id": self.id,
            "runbook": self.runbook,
            "status": self.status,
            "submitted": self.submitted.isoformat(),
            "started": started.isoformat() if started else None,
            "finished": finished.isoformat() if finished else None,
            "duration_ms": run.get("duration_ms", duration),
            "profile": self.profile,
            "executor": self.executor,
            "kubernetes_job": self.kubernetes_job,
            "parameters": run.get("parameters", self.parameters),
            "error": self.error,
            "failed_cell": run.get("failed_cell"),
            "has_report": bool(run.get("report")),
            "has_notebook": bool(run.get("output_notebook")),
            "mlflow_run_id": run.get("mlflow_run_id"),
            "warnings": run.get("warnings", []),
            "trigger": headline(self.trigger),
        }


class RunManager:
    """The server's local runs: a queue, `workers` worker processes, and their jobs."""

    def __init__(self, workers: int = DEFAULT_WORKERS, stop_grace_s: float = 20.0) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.stop_grace_s = stop_grace_s
        self.jobs: dict[str, Job] = {}
        self._queue: asyncio.Queue[Job] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._leases = Heartbeat()  # of the queued runs; a worker holds its run's own
        self._reconciling: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ submitting
    def submit(
        self,
        runbook: Runbook,
        params: dict[str, Any],
        profile: Profile,
        *,
        timeout: float | None = None,
        started_by: str | None = None,
    ) -> Job:
        """Validate `params` (`ParameterError` lists every problem) and queue the run, with
        `timeout` seconds (default: the runbook's, else the profile's; `Runbook.run_timeout`).
        `started_by`: who asked, the identity a change the run proposes is recorded with
        (so that person cannot approve it alone)."""
        from hxb_lab.runbooks import new_run_id, recorded_parameters

        if self._stopping:
            raise ConflictError("the server is stopping; no new runs are started")
        values = runbook.validate(params)
        limit = runbook.run_timeout(timeout, profile)  # checked before anything is written
        shown = recorded_parameters(runbook, values)
        job = Job(
            id=new_run_id(),
            runbook=runbook.name,
            path=str(runbook.path),
            profile=profile.name,
            parameters=shown,
            values=dict(values),
            timeout_s=limit,
            started_by=started_by,
        )
        job.directory = queue_record(job.id, job.runbook, job.profile, job.parameters)
        self._leases.hold(job.directory, job.id)
        self.jobs[job.id] = job
        self._ensure_workers()
        assert self._queue is not None
        self._queue.put_nowait(job)
        return job

    def add_submitted(self, job: Job) -> None:
        """Remember a run submitted elsewhere (a Kubernetes Job) so it lists at once."""
        self.jobs[job.id] = job

    def get(self, run_id: str) -> Job | None:
        return self.jobs.get(run_id)

    def _ensure_workers(self) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._tasks = [t for t in self._tasks if not t.done()]
        while len(self._tasks) < self.workers:
            self._tasks.append(asyncio.ensure_future(self._work()))

    # ------------------------------------------------------------------ executing
    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                if job.status == "queued" and not self._stopping:
                    await self._execute(job)
            except Exception:  # a worker that cannot start must not kill the pool
                log.exception("hxb_lab: run %s failed to execute", job.id)
                await self._finish_unrecorded(job, "the run's worker process could not run")
            finally:
                job.done.set()
                self._queue.task_done()

    async def _execute(self, job: Job) -> None:
        job.status = "running"
        job.started = datetime.now(UTC)
        env = dict(os.environ)
        env["HXB_LAB_PROFILE"] = job.profile
        if job.started_by:
            env["HXB_LAB_USER"] = job.started_by
        assert job.directory is not None
        self._leases.release(job.directory, remove_file=False)  # the worker takes it over
        with open(job.directory / WORKER_LOG, "ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "hxb_lab.server._worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,  # a file: the worker outlives a server that dies
                env=env,
                start_new_session=True,  # a Ctrl-C in the server's terminal is the server's
            )  # fmt: skip
        job.process = process
        assert process.stdin is not None
        spec = {"runbook": job.runbook, "path": job.path, "profile": job.profile,
                "run_id": job.id, "parameters": job.values, "timeout": job.timeout_s}  # fmt: skip
        process.stdin.write((json.dumps(spec, default=str) + "\n").encode())
        await process.stdin.drain()
        job.values = {}  # secrets live no longer than needed
        if job.stop_reason:  # cancelled while the process started
            await self._send_stop(job)
        stdout, _ = await process.communicate()
        job.process = None
        result = _last_json_line(stdout)
        if result is None:
            tail = _tail(job.directory / WORKER_LOG) or "no output"
            log.warning(
                "hxb_lab: run %s: worker exited with %s: %s", job.id, process.returncode, tail
            )
            reason = job.stop_reason if job.stop_reason not in (None, "cancelled") else None
            await self._finish_unrecorded(
                job, reason or f"the run's worker process exited with code {process.returncode}"
            )
            return
        self._apply(job, result)

    def _apply(self, job: Job, run: dict[str, Any]) -> None:
        job.run = run
        job.status = str(run.get("status") or "failed")
        job.finished = _time(run.get("finished")) or datetime.now(UTC)
        job.started = _time(run.get("started")) or job.started
        job.error = _error(run)

    async def _finish_unrecorded(self, job: Job, reason: str, status: str = "failed") -> None:
        """Record a run whose worker gave no result (or that never started) as failed (or
        `status`), in run.json and MLflow, once the processes its worker left are gone."""
        from hxb_lab.config import load_profile
        from hxb_lab.server._base import blocking
        from hxb_lab.server._records import record_failure

        error = f"RunInterrupted: {reason}" if status == "failed" else reason
        job.status, job.error, job.finished = status, error, datetime.now(UTC)
        if job.directory is not None:
            self._leases.release(job.directory, remove_file=False)
        wait_s = OWNER_EXIT_S if job.started else 0.0  # a worker ran: let it be gone
        try:
            profile = await blocking(load_profile, job.profile)
            run = await blocking(
                lambda: record_failure(
                    job.id, job.runbook, reason, profile, started=job.started,
                    parameters=job.parameters, status=status, wait_s=wait_s,
                )
            )  # fmt: skip
            self._apply(job, run.to_json())
        except Exception:
            log.exception("hxb_lab: run %s could not be recorded as %s", job.id, status)
        if status == "cancelled":  # what the user or the stop said, not the record's wording
            job.error = reason

    # ------------------------------------------------------------------ stopping
    async def _send_stop(self, job: Job) -> None:
        process = job.process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            process.stdin.write(f"stop {job.stop_reason}\n".encode())
            await process.stdin.drain()

    async def cancel(self, run_id: str) -> Job:
        """Cancel a queued or running run; a finished run is a `ConflictError`."""
        job = self.jobs.get(run_id)
        if job is None:
            raise NotFoundError(f"no run {run_id!r} started by this server")
        if job.executor != "local":
            raise ConflictError(
                f"run {run_id!r} runs on Kubernetes as job {job.kubernetes_job!r}",
                hint="delete the Job to stop it (kubectl delete job)",
            )
        if not job.active:
            raise ConflictError(f"run {run_id!r} already finished: {job.status}")
        if job.status == "queued":
            job.values = {}
            await self._finish_unrecorded(job, "cancelled before it started", "cancelled")
            job.done.set()
            return job
        job.stop_reason = job.stop_reason or "cancelled"
        await self._send_stop(job)
        return job

    async def stop(self, reason: str = SERVER_STOPPED) -> None:
        """Stop every run: queued ones recorded cancelled, running ones failed, with `reason`."""
        self._stopping = True
        if self._reconciling is not None:
            self._reconciling.cancel()
        running = [j for j in self.jobs.values() if j.status == "running"]
        for job in [j for j in self.jobs.values() if j.status == "queued"]:
            job.values = {}
            await self._finish_unrecorded(job, reason, "cancelled")
            job.done.set()
        self._leases.close()
        for job in running:
            job.stop_reason = reason
            await self._send_stop(job)
        if running:
            waiting = [self._wait_finished(j) for j in running]
            await asyncio.wait_for(asyncio.gather(*waiting), self.stop_grace_s + 15.0)
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    # ------------------------------------------------------------------ reconciling
    def start_reconciling(self, every_s: float = RECONCILE_S) -> None:
        """End the runs whose owner is gone (a server killed before this one started, a
        worker killed), now and every `every_s` seconds, in a thread."""
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.ensure_future(self._reconcile_every(every_s))

    async def _reconcile_every(self, every_s: float) -> None:
        from hxb_lab.runbooks import reconcile
        from hxb_lab.server._base import blocking

        while not self._stopping:
            try:
                ended = await blocking(reconcile)
            except Exception:  # one bad record must not end the reconciling
                log.exception("hxb_lab: reconciling abandoned runs failed")
            else:
                for run in ended:
                    log.warning("hxb_lab: run %s of %s recorded %s: %s", run.id, run.runbook,
                                run.status, run.evalue)  # fmt: skip
            await asyncio.sleep(every_s)

    async def _wait_finished(self, job: Job) -> None:
        """Wait for a stopped job's worker; kill it after the grace period."""
        try:
            await asyncio.wait_for(job.done.wait(), self.stop_grace_s)
        except TimeoutError:
            process = job.process
            if process is not None:
                log.warning(
                    "hxb_lab: run %s did not stop within %gs: killed", job.id, self.stop_grace_s
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            await job.done.wait()


def _tail(path: Path) -> str | None:
    """The last line of a worker's log."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            lines = fh.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


def _last_json_line(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        if line.startswith('{"run"'):
            try:
                data = json.loads(line)
            except ValueError:
                return None
            run = data.get("run")
            return run if isinstance(run, dict) else None
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _error(run: dict[str, Any]) -> str | None:
    if run.get("status") in ("succeeded", "running"):
        return None
    where = f" in cell {run['failed_cell']}" if run.get("failed_cell") is not None else ""
    if run.get("ename"):
        return f"{run['ename']}: {run.get('evalue') or ''}{where}"
    return str(run.get("status", "failed")).replace("_", " ")
