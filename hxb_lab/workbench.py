"""`hx.connect()`: one profile's connections plus the facades users explore with.

The workbench is the one place that wires the facades: each gets the profile's `Context`
and the facades it reads through, by name. Facades are created on first access (their
modules load pandas and the clients lazily, so `import hxb_lab` stays fast).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar, cast

from hxb_lab import frozen
from hxb_lab.config import Profile, load_profile
from hxb_lab.context import Context

if TYPE_CHECKING:
    from hxb_lab.clients import Clients
    from hxb_lab.cluster import Cluster
    from hxb_lab.gitops import GitOps
    from hxb_lab.inference import Inference
    from hxb_lab.models import Models
    from hxb_lab.platform import Platform
    from hxb_lab.policy import Policy
    from hxb_lab.telemetry import Alerts, Logs, Metrics, Traces
    from hxb_lab.widgets import Views

__all__ = ["FACADES", "Workbench", "connect"]

_F = TypeVar("_F")

#: The facades of a workbench, by attribute.
FACADES = (
    "cluster",
    "inference",
    "platform",
    "gitops",
    "policy",
    "traces",
    "metrics",
    "logs",
    "alerts",
    "models",
    "view",
)


class Workbench:
    """The connections of one profile and the facades over them (`wb.cluster`, `wb.traces`...).

    Connections are opened lazily, on the first read that needs them. In a runbook run the
    frames each facade returns are kept with the run (`hxb_lab.frozen`); a workbench given
    a run's `frames` answers from them instead, and opens no connection.
    """

    def __init__(self, profile: Profile, frames: frozen.FrozenFrames | None = None) -> None:
        self.profile = profile
        self.frames = frames
        self.context = Context.of(profile, now=None if frames is None else frames.now)
        self._recorder = None if frames is not None else frozen.recorder_for_run(profile, self.now)

    @property
    def clients(self) -> Clients:
        """The profile's connections (tests and callers may `set` their own)."""
        return self.context.clients

    def now(self) -> datetime:
        """The present for default time ranges: the seed time on the demo, else the clock."""
        return self.context.now()

    def _facade(self, area: str, make: Callable[[], _F]) -> _F:
        """The facade `area`: made by `make()`, recorded in a run, or replayed (a stand-in
        with the same methods)."""
        if self.frames is not None:
            return cast(_F, self.frames.area(area))
        facade = make()
        return facade if self._recorder is None else cast(_F, self._recorder.wrap(area, facade))

    # ------------------------------------------------------------------ facades
    @cached_property
    def cluster(self) -> Cluster:
        from hxb_lab.cluster import Cluster

        return self._facade("cluster", lambda: Cluster(self.context))

    @cached_property
    def traces(self) -> Traces:
        from hxb_lab.telemetry import Traces

        return self._facade("traces", lambda: Traces(self.context))

    @cached_property
    def metrics(self) -> Metrics:
        from hxb_lab.telemetry import Metrics

        return self._facade("metrics", lambda: Metrics(self.context))

    @cached_property
    def logs(self) -> Logs:
        from hxb_lab.telemetry import Logs

        return self._facade("logs", lambda: Logs(self.context))

    @cached_property
    def alerts(self) -> Alerts:
        from hxb_lab.telemetry import Alerts

        return self._facade("alerts", lambda: Alerts(self.context))

    @cached_property
    def models(self) -> Models:
        from hxb_lab.models import Models

        # Which deployment serves a version is inference's to say; the registry frames
        # borrow that answer for their served_by column.
        return self._facade(
            "models", lambda: Models(self.context, deployments=lambda: self.inference.deployments())
        )

    @cached_property
    def gitops(self) -> GitOps:
        from hxb_lab.gitops import GitOps

        return self._facade("gitops", lambda: GitOps(self.context, cluster=self.cluster))

    @cached_property
    def policy(self) -> Policy:
        from hxb_lab.policy import Policy

        return self._facade(
            "policy", lambda: Policy(self.context, cluster=self.cluster, logs=self.logs)
        )

    @cached_property
    def inference(self) -> Inference:
        from hxb_lab.inference import Inference

        return self._facade(
            "inference",
            lambda: Inference(
                self.context,
                cluster=self.cluster,
                metrics=self.metrics,
                models=self.models,
                traces=self.traces,
                gitops=self.gitops,
            ),
        )

    @cached_property
    def platform(self) -> Platform:
        from hxb_lab.platform import Platform

        return self._facade(
            "platform", lambda: Platform(self.context, cluster=self.cluster, metrics=self.metrics)
        )

    @cached_property
    def view(self) -> Views:
        from hxb_lab.widgets import Reads, Views

        return Views(
            Reads(
                profile=self.profile,
                now=self.context.now,
                cluster=self.cluster,
                inference=self.inference,
                platform=self.platform,
                traces=self.traces,
                metrics=self.metrics,
                logs=self.logs,
                gitops=self.gitops,
                policy=self.policy,
            )
        )

    def close(self) -> None:
        """Close every connection that was opened."""
        self.clients.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        replay = "" if self.frames is None else f" replaying run {self.frames.run_id}"
        return f"<Workbench profile={self.profile.summary().removeprefix('name=')}{replay}>"


def connect(profile: str | None = None) -> Workbench:
    """Open the workbench of a profile (default: the active one, else the embedded demo).

    On the demo profile the embedded platform is seeded on first use. In a kernel that
    replays a run (``HXB_LAB_REPLAY``) it is the run's frames that answer.
    """
    frames = frozen.replay_from_env()
    if frames is not None:
        return Workbench(load_profile(profile or frames.profile), frames)
    chosen = load_profile(profile)
    if chosen.is_demo:
        from hxb_lab.demo import ensure_seeded

        ensure_seeded()
    return Workbench(chosen)
