"""`hx.connect()`: one profile's connections plus the facades users explore with.

The workbench is the one place that wires the facades: each gets the profile's `Context`
and the facades it reads through, by name. Facades are created on first access (their
modules load pandas and the clients lazily, so `import hxb_lab` stays fast).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from hxb_lab import clock
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

    Connections are opened lazily, on the first read that needs them.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.context = Context.of(profile)

    @property
    def clients(self) -> Clients:
        """The profile's connections (tests and callers may `set` their own)."""
        return self.context.clients

    def now(self) -> datetime:
        """The present for default time ranges: the seed time on the demo, else the clock."""
        return clock.now(self.profile)

    # ------------------------------------------------------------------ facades
    @cached_property
    def cluster(self) -> Cluster:
        from hxb_lab.cluster import Cluster

        return Cluster(self.context)

    @cached_property
    def traces(self) -> Traces:
        from hxb_lab.telemetry import Traces

        return Traces(self.context)

    @cached_property
    def metrics(self) -> Metrics:
        from hxb_lab.telemetry import Metrics

        return Metrics(self.context)

    @cached_property
    def logs(self) -> Logs:
        from hxb_lab.telemetry import Logs

        return Logs(self.context)

    @cached_property
    def alerts(self) -> Alerts:
        from hxb_lab.telemetry import Alerts

        return Alerts(self.context)

    @cached_property
    def models(self) -> Models:
        from hxb_lab.models import Models

        # Which deployment serves a version is inference's to say; the registry frames
        # borrow that answer for their served_by column.
        return Models(self.context, deployments=lambda: self.inference.deployments())

    @cached_property
    def gitops(self) -> GitOps:
        from hxb_lab.gitops import GitOps

        return GitOps(self.context, cluster=self.cluster)

    @cached_property
    def policy(self) -> Policy:
        from hxb_lab.policy import Policy

        return Policy(self.context, cluster=self.cluster, logs=self.logs)

    @cached_property
    def inference(self) -> Inference:
        from hxb_lab.inference import Inference

        return Inference(
            self.context,
            cluster=self.cluster,
            metrics=self.metrics,
            models=self.models,
            traces=self.traces,
            gitops=self.gitops,
        )

    @cached_property
    def platform(self) -> Platform:
        from hxb_lab.platform import Platform

        return Platform(self.context, cluster=self.cluster, metrics=self.metrics)

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
        return f"<Workbench profile={self.profile.summary().removeprefix('name=')}>"


def connect(profile: str | None = None) -> Workbench:
    """Open the workbench of a profile (default: the active one, else the embedded demo).

    On the demo profile the embedded platform is seeded on first use.
    """
    chosen = load_profile(profile)
    if chosen.is_demo:
        from hxb_lab.demo import ensure_seeded

        ensure_seeded()
    return Workbench(chosen)
