"""Where an alert's run goes outside a Jupyter server (``hxb-lab serve``, ``alerts replay``).

A profile that names a cluster (``kube.contexts``, no snapshot; or ``alerts.run_on``)
runs it as a Kubernetes Job; any other profile runs it locally, in a pool of `workers`
threads (`Runbook.run` and `Runbook.submit`, through the executor registry every run goes
through). The run id is known at once, so the receiver answers Alertmanager before the run
ends. When a local run has ended, `after_run` records the alert with it and posts the
verdict; a Job carries the alert (`job_trigger`), and its pod records it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from hxb_lab.config import Profile
from hxb_lab.errors import HxbLabError
from hxb_lab.runbooks import Run, new_run_id, record_trigger
from hxb_lab.triggers._notify import notify
from hxb_lab.triggers._receiver import Start

__all__ = ["RunPool", "after_run", "job_trigger", "runs_on_cluster", "started_by"]

log = logging.getLogger("hxb_lab.triggers")


def started_by(start: Start) -> str:
    """Who started an alert's run, for the approval that may follow: Alertmanager."""
    return f"alertmanager ({start.trigger.get('receiver') or 'webhook'})"


def job_trigger(start: Start) -> dict[str, Any]:
    """The alert of `start` as its Kubernetes Job carries it, with who started the run: the
    pod records it with the run (`hxb_lab.runbooks._trigger`)."""
    return {**start.trigger, "started_by": started_by(start)}


def after_run(run: Run, start: Start, profile: Profile) -> None:
    """Record the alert with the ended `run` (MLflow, the run's directory) and post the
    verdict; a failure of either is logged, and does not change the run."""
    try:
        record_trigger(run.id, start.trigger, started_by(start), profile)
    except HxbLabError as exc:
        log.warning("run %s: the alert that started it was not recorded: %s", run.id, exc)
    try:
        notify(run, start, profile)
    except HxbLabError as exc:
        log.warning("run %s: %s", run.id, exc)


def runs_on_cluster(profile: Profile) -> bool:
    """True when alert runs go to Kubernetes Jobs: ``alerts.run_on = "kubernetes"``, or
    ``"auto"`` (the default) and the profile names a live cluster (``kube.contexts``)."""
    if profile.kube.snapshot or profile.alerts.run_on == "local":
        return False
    return profile.alerts.run_on == "kubernetes" or bool(profile.kube.contexts)


class RunPool:
    """Starts the runs of alerts for one profile (see the module docstring)."""

    def __init__(self, profile: Profile, workers: int = 2) -> None:
        self.profile = profile
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hxb-alert-run")
        self._futures: list[Future[Run]] = []
        self._lock = threading.Lock()

    def __call__(self, start: Start) -> str:
        if runs_on_cluster(self.profile):
            submission = start.runbook.submit(
                start.values, self.profile, trigger=job_trigger(start)
            )
            return str(submission.run_id)
        run_id = new_run_id()
        future = self._pool.submit(self._run, start, run_id)
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [future]
        return run_id

    def _run(self, start: Start, run_id: str) -> Run:
        run = start.runbook.run(start.values, self.profile, run_id=run_id, progress_bar=False)
        after_run(run, start, self.profile)
        return run

    def wait(self) -> list[Run]:
        """Wait for every run started so far; their `Run`s, in the order they started."""
        with self._lock:
            futures = list(self._futures)
        return [f.result() for f in futures]

    def close(self) -> None:
        """Let the running runs end, and start no more."""
        self._pool.shutdown(wait=True)
