"""`wb.view.gitops()` and `wb.view.policy()`: how the platform is delivered and guarded.

GitOps: each Argo CD Application's sync and health (with its last sync error), then the
Tekton pipeline runs on a time line. Policy: Gatekeeper's violations per constraint and
workspace, then Falco's alerts of the time range with their pod and command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["GitOpsView", "PolicyView"]

APPLICATION_COLUMNS = (
    "name",
    "sync_status",
    "health_status",
    "workspace",
    "managed",
    "out_of_sync",
    "revision",
    "last_sync_error",
)
RUN_COLUMNS = (
    "namespace",
    "name",
    "status",
    "failed_task",
    "failed_step",
    "image",
    "model",
    "model_version",
    "started",
    "duration_ms",
)
VIOLATION_COLUMNS = ("constraint", "enforcement_action", "kind", "namespace", "name", "message")
FALCO_COLUMNS = ("time", "priority", "rule", "workspace", "pod", "workload_name", "command")


class GitOpsView(View):
    """Argo CD Applications, then Tekton pipeline runs."""

    title = "GitOps"

    def _build(self) -> None:
        self.status_pane = FigurePane()
        self.applications = Table("Argo CD Applications", APPLICATION_COLUMNS)
        self.timeline = FigurePane()
        self.runs = Table("Tekton pipeline runs", RUN_COLUMNS)
        self.body.children = [
            self.status_pane.widget,
            self.applications.widget,
            self.timeline.widget,
            self.runs.widget,
        ]

    def _load(self) -> None:
        gitops = self._reads.gitops
        apps = gitops.applications()
        runs = gitops.pipeline_runs()
        self.status_pane.show(self.viz.application_status(apps))
        self.applications.show(apps)
        self.timeline.show(self.viz.pipeline_timeline(runs))
        self.runs.show(runs)

    def figure(self) -> go.Figure:
        """Sync and health of every Application, as of the last refresh."""
        if self.status_pane.figure is None:
            return self.viz.application_status(self._reads.gitops.applications())
        return self.status_pane.figure


class PolicyView(View):
    """Gatekeeper's violations, then Falco's alerts of the time range."""

    title = "Policy"

    def _build(self) -> None:
        self.violations_pane = FigurePane()
        self.violations = Table("Gatekeeper violations", VIOLATION_COLUMNS)
        self.alerts_pane = FigurePane()
        self.alerts = Table("Falco alerts", FALCO_COLUMNS)
        self.body.children = [
            self.violations_pane.widget,
            self.violations.widget,
            self.alerts_pane.widget,
            self.alerts.widget,
        ]

    def _load(self) -> None:
        policy = self._reads.policy
        start, end = self.range()
        found = policy.violations()
        alerts = policy.falco_events(start, end)
        self.violations_pane.show(self.viz.violations_by_constraint(found))
        self.violations.show(found)
        self.alerts_pane.show(self.viz.falco_timeline(alerts))
        self.alerts.show(alerts, caption=f"Falco alerts, {self.time.describe()}")

    def figure(self) -> go.Figure:
        """Violations per constraint, as of the last refresh."""
        if self.violations_pane.figure is None:
            return self.viz.violations_by_constraint(self._reads.policy.violations())
        return self.violations_pane.figure
