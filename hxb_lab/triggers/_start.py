"""Where an alert's run goes outside a Jupyter server (``hxb-lab serve``, ``alerts replay``).

A profile that names a cluster (``kube.contexts``, no snapshot; or ``alerts.run_on``)
runs it as a Kubernetes Job; any other profile runs it locally, in a pool of `workers` threads (`Runbook.run` and
`Runbook.submit`, through the executor registry every run goes through). The run id is known at
once, so the receiver answers Alertmanager before the run ends; `on_finished` is told
how each local run ended (the notification goes out from there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from hxb_lab.config import Profile
from hxb_lab.runbooks import Run, new_run_id
from hxb_lab.triggers._receiver import Start

__all__ = ["RunPool", "runs_on_cluster"]

log = logging.getLogger("hxb_lab.triggers")

Finished = Callable[[Run, Start], None]


def runs_on_cluster(profile: Profile) -> bool:
    """True when alert runs go to Kubernetes Jobs: ``alerts.run_on = "kubernetes"``, or
    ``"auto"`` (the default) and the profile names a live cluster (``kube.contexts``)."""
    if profile.kube.snapshot or profile.alerts.run_on == "local":
        return False
    return profile.alerts.run_on == "kubernetes" or bool(profile.kube.contexts)


class RunPool:
    """Starts the runs of alerts for one profile (see the module docstring)."""

    def __init__(
        self, profile: Profile, workers: int = 2, on_finished: Finished | None = None
    ) -> None:
        self.profile = profile
        self.on_finished = on_finished
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hxb-alert-run")
        self._futures: list[Future[Run]] = []
        self._lock = threading.Lock()

    def __call__(self, start: Start) -> str:
        if runs_on_cluster(self.profile):
            return str(start.runbook.submit(start.values, self.profile).run_id)
        run_id = new_run_id()
        future = self._pool.submit(self._run, start, run_id)
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()] + [future]
        return run_id

    def _run(self, start: Start, run_id: str) -> Run:
        run = start.runbook.run(start.values, self.profile, run_id=run_id, progress_bar=False)
        if self.on_finished is not None:
            try:
                self.on_finished(run, start)
            except Exception:  # a notification that fails does not change the run
                log.exception("after run %s", run.id)
        return run

    def wait(self) -> list[Run]:
        """Wait for every run started so far; their `Run`s, in the order they started."""
        with self._lock:
            futures = list(self._futures)
        return [f.result() for f in futures]

    def close(self) -> None:
        """Let the running runs end, and start no more."""
        self._pool.shutdown(wait=True)
