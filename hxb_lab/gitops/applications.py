"""Argo CD Applications as rows: where each comes from in Git, its sync and health, the
objects it manages, and who reverts a change made outside Git."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hxb_lab import frames as _frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "APPLICATION_COLUMNS",
    "MANAGED_COLUMNS",
    "Manager",
    "applications_frame",
    "managed_frame",
    "managers",
]

Obj = dict[str, Any]
#: Argo CD's default tracking label, and the annotation of annotation-based tracking.
TRACKING_LABEL = "app.kubernetes.io/instance"
TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"

APPLICATION_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("project", "str"),
    ("repo", "str"),
    ("path", "str"),
    ("target_revision", "str"),
    ("revision", "str"),
    ("sync_status", "str"),
    ("health_status", "str"),
    ("automated", "bool"),
    ("self_heal", "bool"),
    ("prune", "bool"),
    ("destination_namespace", "str"),
    ("workspace", "str"),
    ("managed", "int64"),
    ("out_of_sync", "int64"),
    ("degraded", "int64"),
    ("last_sync_phase", "str"),
    ("last_sync_error", "str"),
    ("last_synced", _frame.TIMESTAMP),
    ("reconciled", _frame.TIMESTAMP),
    ("created", _frame.TIMESTAMP),
)

MANAGED_COLUMNS: _frame.Schema = (
    ("cluster", "str"),
    ("application", "str"),
    ("group", "str"),
    ("kind", "str"),
    ("namespace", "str"),
    ("name", "str"),
    ("workspace", "str"),
    ("sync_status", "str"),
    ("health_status", "str"),
    ("health_message", "str"),
    ("requires_pruning", "bool"),
)


def _source(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first source of an Application (``spec.source``, else ``spec.sources[0]``)."""
    if spec.get("source"):
        return spec["source"]  # type: ignore[no-any-return]
    sources = spec.get("sources") or [{}]
    return sources[0] or {}


def _last_error(status: Mapping[str, Any]) -> str:
    """What went wrong at the last sync: a failed operation's message, else an error
    condition (ComparisonError, SyncError, ...)."""
    operation = status.get("operationState") or {}
    if operation.get("phase") in ("Failed", "Error"):
        return str(operation.get("message") or operation.get("phase"))
    for condition in status.get("conditions") or ():
        if str(condition.get("type", "")).endswith("Error"):
            return f"{condition.get('type')}: {condition.get('message', '')}"
    return ""


def _row(cluster: str, app: Obj, workspaces: Mapping[str, Mapping[str, str]]) -> tuple[Any, ...]:
    meta = app.get("metadata") or {}
    spec = app.get("spec") or {}
    status = app.get("status") or {}
    source = _source(spec)
    automated = (spec.get("syncPolicy") or {}).get("automated")
    auto = automated is not None and automated.get("enabled", True) is not False
    auto_opts = automated or {}
    destination = str((spec.get("destination") or {}).get("namespace") or "")
    resources = status.get("resources") or ()
    sync = status.get("sync") or {}
    operation = status.get("operationState") or {}
    return (
        cluster,
        meta.get("namespace") or "",
        meta.get("name") or "",
        spec.get("project") or "",
        source.get("repoURL") or "",
        source.get("path") or source.get("chart") or "",
        source.get("targetRevision") or "",
        sync.get("revision") or "",
        sync.get("status") or "",
        (status.get("health") or {}).get("status") or "",
        auto,
        bool(auto and auto_opts.get("selfHeal")),
        bool(auto and auto_opts.get("prune")),
        destination,
        workspaces.get(cluster, {}).get(destination, ""),
        len(resources),
        sum(1 for r in resources if r.get("status") == "OutOfSync"),
        sum(1 for r in resources if (r.get("health") or {}).get("status") == "Degraded"),
        operation.get("phase") or "",
        _last_error(status),
        operation.get("finishedAt"),
        status.get("reconciledAt"),
        meta.get("creationTimestamp"),
    )


def applications_frame(
    items: Iterable[tuple[str, Obj]], workspaces: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """One row per Application; see `GitOps.applications`."""
    rows = [_row(cluster, app, workspaces) for cluster, app in items]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _frame.build(APPLICATION_COLUMNS, rows)


def managed_frame(
    items: Iterable[tuple[str, Obj]], workspaces: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """One row per object an Application manages (its ``status.resources``)."""
    rows = []
    for cluster, app in items:
        name = (app.get("metadata") or {}).get("name") or ""
        for r in (app.get("status") or {}).get("resources") or ():
            health = r.get("health") or {}
            namespace = r.get("namespace") or ""
            rows.append(
                (
                    cluster,
                    name,
                    r.get("group") or "",
                    r.get("kind") or "",
                    namespace,
                    r.get("name") or "",
                    workspaces.get(cluster, {}).get(namespace, ""),
                    r.get("status") or "",
                    health.get("status") or "",
                    health.get("message") or "",
                    bool(r.get("requiresPruning")),
                )
            )
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3], r[4], r[5]))
    return _frame.build(MANAGED_COLUMNS, rows)


@dataclass(frozen=True)
class Manager:
    """The Argo CD Application that manages one object, and what that means for a change."""

    cluster: str
    namespace: str
    name: str
    repo: str
    path: str
    revision: str  # the target revision (branch, tag)
    automated: bool
    self_heal: bool

    @property
    def where(self) -> str:
        """``<repo>/<path>`` (at ``@<revision>``): where the object's desired state lives."""
        place = f"{self.repo.removesuffix('/')}/{self.path}" if self.path else self.repo
        return f"{place}@{self.revision}" if self.revision else place

    @property
    def reverts(self) -> bool:
        """True when Argo CD puts the Git state back by itself (automated sync)."""
        return self.automated

    def note(self) -> str:
        """One line for a change to an object this Application manages."""
        app = f"Argo CD Application {self.namespace}/{self.name}"
        if self.reverts:
            when = "at once (self-heal)" if self.self_heal else "at its next automated sync"
            return (
                f"managed by {app} with automated sync: this change will be reverted {when}; "
                f"change it in Git: {self.where}"
            )
        return (
            f"managed by {app} (manual sync): the change makes it OutOfSync until Git "
            f"says the same ({self.where})"
        )


def _tracks(app_name: str, obj: Mapping[str, Any], group: str, kind: str) -> bool:
    meta = obj.get("metadata") or {}
    if (meta.get("labels") or {}).get(TRACKING_LABEL) == app_name:
        return True
    tracking = str((meta.get("annotations") or {}).get(TRACKING_ANNOTATION) or "")
    return tracking.startswith(f"{app_name}:{group}/{kind}:")


def managers(
    apps: Iterable[tuple[str, Obj]], cluster: str, group: str, kind: str, obj: Mapping[str, Any]
) -> list[Manager]:
    """The Applications of `cluster` that manage `obj` (a `group`/`kind` object): those that
    list it in ``status.resources``, or whose tracking label or annotation it carries."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    found = []
    for where, app in apps:
        if where != cluster:
            continue
        app_meta = app.get("metadata") or {}
        listed = any(
            (r.get("group") or "") == group
            and r.get("kind") == kind
            and (r.get("namespace") or "") == namespace
            and r.get("name") == name
            for r in (app.get("status") or {}).get("resources") or ()
        )
        if not (listed or _tracks(str(app_meta.get("name")), obj, group, kind)):
            continue
        spec = app.get("spec") or {}
        source = _source(spec)
        automated = (spec.get("syncPolicy") or {}).get("automated")
        auto = automated is not None and automated.get("enabled", True) is not False
        found.append(
            Manager(
                cluster=cluster,
                namespace=str(app_meta.get("namespace") or ""),
                name=str(app_meta.get("name") or ""),
                repo=str(source.get("repoURL") or ""),
                path=str(source.get("path") or source.get("chart") or ""),
                revision=str(source.get("targetRevision") or ""),
                automated=auto,
                self_heal=bool(auto and (automated or {}).get("selfHeal")),
            )
        )
    return found
