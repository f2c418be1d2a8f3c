"""Where a runbook runs: a registry of executors, as papermill registers its engines.

`execute(runbook, params, options, executor="local")` is the one way into a run, whoever
asks (`Runbook.run` and `submit`, the command line, the server's worker, the form, a
pod). An executor is an object with ``execute(runbook, params, options)``; one that can
also run a runbook on a schedule has ``schedule(runbook, cron, params, options, suspend=)``.
The built-in ones register themselves: ``local`` (papermill in this process, `_local`) and
``kubernetes`` (a Job, or a CronJob for a schedule, `_kubernetes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

from hxb_lab.config import Profile
from hxb_lab.errors import RunbookError

if TYPE_CHECKING:
    from hxb_lab.runbooks._catalog import Runbook
    from hxb_lab.runbooks._kubernetes import Schedule, Submission
    from hxb_lab.runbooks._run import Run

__all__ = [
    "Executor",
    "Executors",
    "RunOptions",
    "Scheduler",
    "execute",
    "executors",
    "register",
    "schedule",
]


@dataclass(frozen=True)
class RunOptions:
    """How to run a runbook, everything but its parameter values: made once by whoever asks
    for the run, passed through unchanged to the executor."""

    profile: Profile
    run_id: str | None = None  # default: a new one (`new_run_id`)
    output: Path | None = None  # local: where run directories go (default `runs_root()`)
    cwd: Path | None = None  # local: the kernel's working directory (default: the run's)
    kernel: str | None = None  # default: the profile's, then the notebook's, then python3
    timeout: float | None = None  # seconds for the whole run (kubernetes: the pod's deadline)
    cell_timeout: float | None = None  # seconds for each cell
    progress_bar: bool | None = None  # default: when stderr is a terminal
    on_cell: Callable[[int | None], None] | None = None  # told each cell's index as it starts
    # A host that stops runs for its own reasons (a server shutting down) says why here:
    # the run is then recorded as failed with that reason rather than cancelled.
    stop_reason: Callable[[], str | None] | None = None
    name: str | None = None  # kubernetes: the Job's (or CronJob's) name
    recorded_as: str = "local"  # the executor the run is recorded under (a pod: kubernetes)
    kubernetes_job: str | None = None  # the Job a pod's own run belongs to
    # local: compare with the last successful run of the same parameters in the report, and
    # notify the profile's webhook when something changed (a schedule's runs)
    since_last_run: bool = False
    replay: Path | None = None  # local: a run's kept frames the kernel's workbench answers from
    # kubernetes: the alert that started the run (rule, group key, alerts, started_by),
    # annotated on the Job; its pod records it with the run
    trigger: Mapping[str, Any] | None = None


class Executor(Protocol):
    """Runs a runbook with checked parameter values somewhere; returns what it started."""

    def execute(self, runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> Any: ...


@runtime_checkable
class Scheduler(Protocol):
    """An executor that can also run a runbook on a cron schedule."""

    def execute(self, runbook: Runbook, params: Mapping[str, Any], options: RunOptions) -> Any: ...

    def schedule(
        self,
        runbook: Runbook,
        cron: str,
        params: Mapping[str, Any],
        options: RunOptions,
        *,
        suspend: bool = False,
    ) -> Schedule: ...


class Executors:
    """The executors by name."""

    def __init__(self) -> None:
        self._executors: dict[str, Executor] = {}

    def register(self, name: str, executor: Executor) -> None:
        """Make `executor` available as `name` (a second registration replaces the first)."""
        self._executors[name] = executor

    def get(self, name: str) -> Executor:
        try:
            return self._executors[name]
        except KeyError:
            known = ", ".join(sorted(self._executors)) or "none"
            raise RunbookError(
                f"no runbook executor named {name!r}", hint=f"known executors: {known}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._executors)


#: The registry every run goes through.
executors = Executors()


def register(name: str, executor: Executor) -> None:
    """Register an executor in the module-level registry."""
    executors.register(name, executor)


@overload
def execute(
    runbook: Runbook,
    params: Mapping[str, Any],
    options: RunOptions,
    executor: Literal["local"] = "local",
) -> Run: ...
@overload
def execute(
    runbook: Runbook,
    params: Mapping[str, Any],
    options: RunOptions,
    executor: Literal["kubernetes"],
) -> Submission: ...
@overload
def execute(
    runbook: Runbook, params: Mapping[str, Any], options: RunOptions, executor: str
) -> Any: ...
def execute(
    runbook: Runbook, params: Mapping[str, Any], options: RunOptions, executor: str = "local"
) -> Any:
    """Run `runbook` with `params` (checked by the executor before anything starts)."""
    return executors.get(executor).execute(runbook, params, options)


def schedule(
    runbook: Runbook,
    cron: str,
    params: Mapping[str, Any],
    options: RunOptions,
    *,
    suspend: bool = False,
    executor: str = "kubernetes",
) -> Schedule:
    """Run `runbook` on the cron schedule `cron` with the executor that can."""
    chosen = executors.get(executor)
    if not isinstance(chosen, Scheduler):
        raise RunbookError(f"the runbook executor {executor!r} cannot run on a schedule")
    return chosen.schedule(runbook, cron, params, options, suspend=suspend)
