"""How the platform is delivered: Argo CD Applications and Tekton pipeline runs, as frames.

``wb.gitops`` reads through the cluster layer's sources (live or snapshot), so a snapshot
shows the same frames as the cluster it was taken from. A cluster without Argo CD or
Tekton is normal: its frame is empty, with one `AbsentKindWarning` naming the CRD.
`GitOps.managers(...)` says which Application manages an object, which `Change` uses to
warn that a change made outside Git will be reverted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab import checks as _checks
from hxb_lab.cluster import resource
from hxb_lab.cluster.optional import AbsentKindWarning, optional_items
from hxb_lab.frames import bulk as _bulk
from hxb_lab.gitops import applications as _apps
from hxb_lab.gitops import pipelines as _pipelines
from hxb_lab.gitops.applications import Manager

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.context import Context

__all__ = ["AbsentKindWarning", "GitOps", "Manager"]

Namespaces = str | Sequence[str] | None
#: Versions read, preferred first (Tekton's v1beta1 carries the same status fields).
TEKTON_VERSIONS = ("v1", "v1beta1")


class GitOps:
    """Argo CD Applications and Tekton runs of the profile's clusters."""

    def __init__(self, ctx: Context, *, cluster: Cluster) -> None:
        self._ctx = ctx
        self._cluster = cluster

    def __repr__(self) -> str:
        return f"<GitOps of profile {self._ctx.profile.name!r}>"

    def _items(
        self, kind: str, namespace: Namespaces = None, versions: Sequence[str] = ()
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        names = _checks.names(namespace, "namespace")
        return optional_items(self._cluster.sources(), resource(kind), names, versions)

    def _workspaces(self) -> Mapping[str, Mapping[str, str]]:
        return self._cluster.workspace_map()

    @_bulk
    def applications(self) -> pd.DataFrame:
        """One row per Argo CD Application.

        Columns: cluster, namespace (of the Application), name, project, repo, path (or
        Helm chart), target_revision (branch or tag asked for), revision (the commit synced),
        sync_status (Synced, OutOfSync, Unknown), health_status (Healthy, Progressing,
        Degraded, Suspended, Missing, Unknown), automated, self_heal, prune (its sync
        policy), destination_namespace, workspace (of that namespace), managed (objects it
        manages), out_of_sync and degraded (how many of those are), last_sync_phase
        (Succeeded, Failed, Error, Running), last_sync_error (the failed sync's message,
        else an error condition), last_synced, reconciled, created.
        """
        return _apps.applications_frame(list(self._items("applications")), self._workspaces())

    @_bulk
    def managed_objects(self, application: str | None = None) -> pd.DataFrame:
        """The objects each Application manages (its ``status.resources``), one row each.

        Columns: cluster, application, group, kind, namespace, name, workspace,
        sync_status (Synced, OutOfSync), health_status, health_message, requires_pruning.
        """
        if application is not None:
            _checks.text(application, "application")
        apps = [
            (cluster, app)
            for cluster, app in self._items("applications")
            if application is None or app["metadata"]["name"] == application
        ]
        return _apps.managed_frame(apps, self._workspaces())

    def managers(self, cluster: str, group: str, kind: str, obj: dict[str, Any]) -> list[Manager]:
        """The Applications of `cluster` that manage `obj` (of `group`/`kind`)."""
        apps = list(self._items("applications"))
        return _apps.managers(apps, cluster, group, kind, obj)

    @_bulk
    def pipeline_runs(self, namespace: Namespaces = None) -> pd.DataFrame:
        """Tekton PipelineRuns, newest first.

        Columns: cluster, namespace, workspace, name, pipeline, status (Succeeded, Failed,
        Cancelled, Running, Pending; empty before the controller saw it), reason, message,
        task_runs, failed_task and failed_step (of its failed TaskRun), image (what it
        built: its ``IMAGE_URL``/``IMAGE_DIGEST`` results or a TaskRun's), model and
        model_version (``MODEL_NAME``/``MODEL_VERSION`` results, else the labels
        ``hxb.io/model``/``hxb.io/model-version``), started, finished, duration_ms (so far,
        while it runs), created.
        """
        runs = list(self._items("pipelineruns", namespace, TEKTON_VERSIONS))
        tasks = list(self._items("taskruns", namespace, TEKTON_VERSIONS)) if runs else []
        return _pipelines.pipeline_runs_frame(runs, tasks, self._workspaces(), self._ctx.now())

    @_bulk
    def task_runs(self, namespace: Namespaces = None) -> pd.DataFrame:
        """Tekton TaskRuns, newest first.

        Columns: cluster, namespace, workspace, name, pipeline_run, task (its pipeline
        task, else the Task it runs), status, reason, message, failed_step and exit_code
        (the first step that exited non-zero), pod, image (its ``IMAGE_URL`` result),
        started, finished, duration_ms, created.
        """
        runs = self._items("taskruns", namespace, TEKTON_VERSIONS)
        return _pipelines.task_runs_frame(list(runs), self._workspaces(), self._ctx.now())
