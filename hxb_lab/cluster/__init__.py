"""Kubernetes as frames: clusters, nodes, pods, workloads, events, workspaces, GPUs.

``wb.cluster`` reads every cluster of the profile, live (the contexts of a kubeconfig)
or offline (a snapshot directory of ``kubectl get -o json`` lists), and both give the
same frames. Every frame has a ``cluster`` column naming the context or snapshot cluster.

For the layers above (inference, models) that read cluster objects of their own:
`Cluster.sources()` gives each cluster's transport (a `Source`), `resource(kind)` the
`Resource` to list, `parse_selector(text)` a checked label `Selector`, and
`Cluster.workspace_map()` the workspace of each namespace; frames are built with
`hxb_lab.frames`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hxb_lab import checks as _checks
from hxb_lab import frames as _frame
from hxb_lab import times as _times
from hxb_lab.clients import kube as _kube
from hxb_lab.clients.clickhouse import open_clickhouse as _open_clickhouse
from hxb_lab.cluster import events as _events
from hxb_lab.cluster import gpus as _gpus
from hxb_lab.cluster import history as _history
from hxb_lab.cluster import live as _live
from hxb_lab.cluster import nodes as _nodes
from hxb_lab.cluster import pods as _pods
from hxb_lab.cluster import record as _record
from hxb_lab.cluster import snapshot as _snapshot
from hxb_lab.cluster import watch as _watch
from hxb_lab.cluster import workloads as _workloads
from hxb_lab.cluster import workspaces as _workspaces
from hxb_lab.cluster._changes import WHATS as _WHATS
from hxb_lab.cluster._resources import KINDS as _KINDS
from hxb_lab.cluster._resources import Resource, resource
from hxb_lab.cluster._selectors import Selector, parse_selector
from hxb_lab.cluster._store import ChangeStore as _ChangeStore
from hxb_lab.cluster.gpus import IDLE_BELOW_PCT
from hxb_lab.cluster.watch import ChangeEvent
from hxb_lab.errors import ForbiddenError as _ForbiddenError
from hxb_lab.errors import NotFoundError as _NotFoundError
from hxb_lab.errors import ParameterError as _ParameterError
from hxb_lab.frames import bulk as _bulk
from hxb_lab.warn import PartialReadWarning
from hxb_lab.warn import warn_user as _warn_user

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.context import Context

__all__ = [
    "IDLE_BELOW_PCT",
    "ChangeEvent",
    "Cluster",
    "PartialReadWarning",
    "Resource",
    "Selector",
    "Source",
    "parse_selector",
    "resource",
]

Namespaces = str | Sequence[str] | None

CONTEXT_COLUMNS = (
    ("cluster", "str"),
    ("transport", "str"),
    ("server", "str"),
    ("user", "str"),
    ("namespace", "str"),
)


class Source(Protocol):
    """A transport to one cluster: `_live.LiveSource` or `SnapshotSource`."""

    name: str
    transport: str

    def items(
        self,
        res: Resource,
        namespaces: Sequence[str] | None = None,
        selector: Selector | None = None,
    ) -> Iterator[dict[str, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


def _namespaces(namespace: Namespaces) -> list[str] | None:
    return _checks.names(namespace, "namespace")


def _selector(selector: str | None) -> Selector | None:
    return parse_selector(None if selector is None else _checks.text(selector, "selector"))


class Cluster:
    """Reads of the profile's clusters (live API or snapshot) as pandas frames.

    `Cluster.at(time)` is a `Cluster` too, whose sources are the recorded history and
    whose present is that moment."""

    def __init__(
        self, ctx: Context, *, sources: Sequence[Source] | None = None, at: datetime | None = None
    ) -> None:
        self._ctx = ctx
        self._cached: list[Source] | None = None if sources is None else list(sources)
        self._at = at

    @property
    def profile_name(self) -> str:
        """The name of the profile whose clusters these are."""
        return self._ctx.profile.name

    def __repr__(self) -> str:
        if self._at is not None:
            return f"<Cluster of profile {self._ctx.profile.name!r} at {self._at.isoformat()}>"
        kube = self._ctx.profile.kube
        where = f"snapshot {kube.snapshot}" if kube.snapshot else "kubeconfig contexts"
        return f"<Cluster of profile {self._ctx.profile.name!r}: {where}>"

    # ------------------------------------------------------------------ transports
    def sources(self) -> list[Source]:
        """One source per cluster: snapshot clusters, or the profile's kubeconfig contexts."""
        if self._cached is None:
            profile = self._ctx.profile
            if profile.kube.snapshot:
                self._cached = list(_snapshot.snapshot_sources(profile.kube.snapshot))
            else:
                clients = list(self._ctx.clients.get("kube", _kube.open_kube))
                fallback = [profile.kube.namespace, profile.runbooks.namespace]
                peers = _live.Peers([ctx.name for ctx in clients])
                self._cached = [_live.LiveSource(ctx, fallback, peers) for ctx in clients]
        return self._cached

    def _items(
        self,
        kind: str,
        namespaces: Sequence[str] | None = None,
        selector: Selector | None = None,
        **extra: Any,
    ) -> Iterator[tuple[str, dict[str, Any]]]:

        res = resource(kind)
        for source in self.sources():
            kwargs = extra if source.transport == "live" else {}
            for item in source.items(res, namespaces, selector, **kwargs):
                yield source.name, item

    def workspace_map(self, workspace: str | None = None) -> dict[str, dict[str, str]]:
        """``{cluster: {namespace: workspace}}`` for the namespaces labelled with the
        profile's workspace label.

        A user who may not list namespaces (bound to some namespaces by RBAC) gets those
        of its namespaces it may read one by one; when `workspace` is asked and its
        namespace cannot be read either, the namespace bearing its name is taken for it.
        Each such map comes with a `PartialReadWarning`."""

        label = self._ctx.profile.kube.workspace_label
        found: dict[str, dict[str, str]] = {}
        for source in self.sources():
            try:
                found.update(
                    _workspaces.workspace_map(self._source_items(source, "namespaces"), label)
                )
            except _ForbiddenError as exc:
                found[source.name] = self._own_workspaces(source, exc, label, workspace)
        return found

    @staticmethod
    def _own_workspaces(
        source: Source, denied: _ForbiddenError, label: str, workspace: str | None
    ) -> dict[str, str]:
        """The workspaces of the namespaces a user may get but not list (see `workspace_map`)."""

        if not isinstance(source, _live.LiveSource):  # a snapshot refuses nothing
            raise denied
        known: dict[str, str] = {}
        hidden: list[str] = []
        candidates = [*source.fallback_namespaces, workspace or ""]
        for ns in dict.fromkeys(n for n in candidates if n):
            try:
                labels = (source.namespace(ns).get("metadata") or {}).get("labels") or {}
            except _ForbiddenError:
                hidden.append(ns)
                continue
            except _NotFoundError:
                continue
            if labels.get(label):
                known[ns] = str(labels[label])
        where = f"user {denied.user!r} may not list namespaces on {source.name!r}"
        covered = ", ".join(map(repr, known))
        _warn_user(
            f"{where}: the workspace column covers namespace(s) {covered} only"
            if known
            else f"{where}: the workspace column is empty"
        )
        if workspace and workspace in hidden and workspace not in known.values():
            known[workspace] = workspace
            _warn_user(
                f"{where} nor read namespace {workspace!r}: took it for workspace "
                f"{workspace!r}, whose namespace bears its name on the platform"
            )
        return known

    @staticmethod
    def _source_items(source: Source, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:

        for item in source.items(resource(kind)):
            yield source.name, item

    def _now(self) -> datetime:
        return self._ctx.now() if self._at is None else self._at

    # ------------------------------------------------------------------ frames
    def contexts(self) -> pd.DataFrame:
        """The clusters this profile reads.

        Columns: cluster, transport ("live" or "snapshot"), server (URL or directory),
        user, namespace (the context's default namespace).
        """

        rows = []
        for source in self.sources():
            d = source.describe()
            rows.append((source.name, source.transport, d["server"], d["user"], d["namespace"]))
        return _frame.build(CONTEXT_COLUMNS, rows)

    @_bulk
    def nodes(self) -> pd.DataFrame:
        """One row per node, with what the pods bound to it request.

        Columns: cluster, name, ready, unschedulable, roles, pool, instance_type, zone,
        cpu_capacity, cpu_allocatable, cpu_requested (cores), memory_capacity,
        memory_allocatable, memory_requested (bytes), gpu_product, gpu_memory_mb,
        gpu_capacity, gpu_allocatable, gpu_requested, gpu_free (GPUs), pods, taints
        ("key=value:Effect, ..."), kubelet_version, container_runtime, created, age.
        """

        nodes = list(self._items("nodes"))  # first: a user who may not list nodes learns it now
        return _nodes.nodes_frame(nodes, _nodes.node_usage(self._bound_pods()), self._now())

    def _bound_pods(self) -> Iterator[tuple[str, dict[str, Any]]]:
        running = "status.phase!=Succeeded,status.phase!=Failed"
        return self._items("pods", field_selector=running)

    @_bulk
    def pods(
        self,
        namespace: Namespaces = None,
        selector: str | None = None,
        workspace: str | None = None,
    ) -> pd.DataFrame:
        """One row per pod, in `namespace` (a name or a list; None: all), matching the label
        `selector`, in `workspace`.

        Columns: cluster, namespace, workspace, name, phase, reason (CrashLoopBackOff,
        Unschedulable, ...), ready, restarts, node, cpu_requests (cores),
        memory_requests (bytes), gpu_requests, mig_requests, owner_kind, owner_name,
        workload_kind, workload_name (a ReplicaSet's Deployment), last_termination_reason
        (OOMKilled, Error, ...), started, created, labels, annotations (each a dict of
        str -> str, as in the pod's metadata; strings from the cluster, escape them for HTML).
        """

        parsed = _selector(selector)
        names = _namespaces(namespace)
        if workspace is not None:
            _checks.text(workspace, "workspace")
        workspaces = self.workspace_map(workspace)
        if workspace is not None:
            in_workspace = sorted(
                {
                    ns
                    for mapping in workspaces.values()
                    for ns, ws in mapping.items()
                    if ws == workspace
                }
            )
            names = in_workspace if names is None else [n for n in names if n in in_workspace]
            if not names:
                return _pods.pods_frame([], workspaces)
        return _pods.pods_frame(self._items("pods", names, parsed), workspaces)

    @_bulk
    def workloads(self, namespace: Namespaces = None, selector: str | None = None) -> pd.DataFrame:
        """Deployments, StatefulSets, DaemonSets, Jobs and CronJobs, one row each.

        Columns: cluster, namespace, workspace, kind, name, status (Ready, Degraded,
        Unavailable, ScaledDown, Stalled; Running, Complete, Failed, Suspended, Pending for
        Jobs; Scheduled, Active, Suspended for CronJobs), desired, ready, available, updated
        (for Jobs: completions, ready, active, succeeded; for CronJobs: 0, 0, active Jobs,
        0), cpu_requests, memory_requests, gpu_requests (per replica; a CronJob's: per pod
        of its Jobs), gpus_total (0 for a CronJob: its Jobs have rows of their own),
        images, owner_kind, owner_name (e.g. the InferenceService), schedule (a CronJob's
        cron expression, ``CRON_TZ=<zone> `` first when it has a time zone; else empty),
        last_schedule (when a CronJob last created a Job; else NaT), created.
        """

        parsed = _selector(selector)
        names = _namespaces(namespace)
        workspaces = self.workspace_map()

        def items() -> Iterator[tuple[str, str, dict[str, Any]]]:
            for kind in _workloads.WORKLOAD_KINDS:
                for cluster, item in self._items(kind, names, parsed):
                    yield cluster, kind, item

        return _workloads.workloads_frame(items(), workspaces)

    @_bulk
    def events(
        self,
        since: str | timedelta | datetime | None = None,
        namespace: Namespaces = None,
        warnings_only: bool = False,
    ) -> pd.DataFrame:
        """Events, oldest first; `since` is a time or an age ("30m", "2h", "1d", a timedelta)
        before now (the seed time on the demo); see `hxb_lab.times`.

        Columns: cluster, namespace, time (last seen), first_seen, type (Normal, Warning),
        reason, object_kind, object_name, message, count, source.
        """

        start = _times.since(since, self._now())
        names = _namespaces(namespace)
        _checks.flag(warnings_only, "warnings_only")
        return _events.events_frame(self._items("events", names), start, warnings_only)

    @_bulk
    def workspaces(self) -> pd.DataFrame:
        """One row per workspace (namespaces labelled with the profile's workspace label).

        Columns: cluster, workspace, namespaces, pods, running, pending (non-finished
        pods), cpu_requested (cores), memory_requested (bytes), gpu_requested,
        quota_cpu_hard/used (cores), quota_memory_hard/used (bytes), quota_gpu_hard/used,
        quota_pods_hard/used (NaN without a quota), created.
        """

        label = self._ctx.profile.kube.workspace_label
        return _workspaces.workspaces_frame(
            self._items("namespaces"),
            self._bound_pods(),
            self._items("resourcequotas"),
            label,
        )

    @_bulk
    def gpus(self) -> pd.DataFrame:
        """One row per node with GPUs.

        Columns: cluster, node, pool, ready, unschedulable, product, memory_mb (per GPU),
        gpu_count (physical GPUs), capacity, allocatable, requested, free (whole GPUs,
        `nvidia.com/gpu`), mig_strategy, mig_devices, mig_requested, mig_profiles
        ("1g.5gb=14, 3g.20gb=4"), driver_version, cuda_version.
        """

        nodes = list(self._items("nodes"))
        return _gpus.gpus_frame(nodes, _nodes.node_usage(self._bound_pods()))

    @_bulk
    def gpu_allocation(self, by: str = "workspace") -> pd.DataFrame:
        """Who holds the GPUs: per "workspace", "namespace", "workload" or "pod".

        Columns: the keys of `by` (cluster, workspace; + namespace; + workload_kind,
        workload_name; + pod, node, phase), then gpu_product, gpus_allocated (bound pods),
        gpus_pending (pods waiting for GPUs), mig_allocated, pods, share (of the cluster's
        allocatable GPUs). Largest first.
        """

        if not isinstance(by, str) or by not in _gpus.ALLOCATION_KEYS:
            raise _ParameterError([f"by: {by!r} is not one of {', '.join(_gpus.ALLOCATION_KEYS)}"])
        return _gpus.gpu_allocation_frame(by, self.pods(), self.gpus())

    # ------------------------------------------------------------------ changes
    def watch(
        self,
        kind: str,
        namespace: str | None = None,
        selector: str | None = None,
        *,
        cluster: str | None = None,
        resource_version: str | None = None,
        timeout: float | None = None,
        bookmarks: bool = False,
        initial: bool = True,
        reconnect_timeout: float = 300.0,
    ) -> Iterator[ChangeEvent]:
        """Change events of one kind on one cluster (default: the first), until `timeout`
        seconds pass (None: until the caller stops iterating).

        The objects present first come as ADDED (unless `initial=False` or a
        `resource_version` to resume from is given); BOOKMARK events only with
        `bookmarks=True`. Survives API server restarts and 410 Gone (by relisting).
        """

        res = resource(_checks.text(kind, "kind"))
        if namespace is not None:
            _checks.text(namespace, "namespace")
        if cluster is not None:
            _checks.text(cluster, "cluster")
        parsed = _selector(selector)
        timeout = _times.timeout(timeout, "timeout")
        reconnect_timeout = _times.parse_duration(reconnect_timeout, "reconnect_timeout")
        for name, value in (("bookmarks", bookmarks), ("initial", initial)):
            _checks.flag(value, name)
        sources = self.sources()
        chosen = (
            sources[0] if cluster is None else next((s for s in sources if s.name == cluster), None)
        )
        if chosen is None:
            raise _NotFoundError(
                f"no cluster {cluster!r} in profile {self._ctx.profile.name!r}",
                hint=f"clusters: {', '.join(s.name for s in sources)}",
            )
        if isinstance(chosen, _live.LiveSource):
            return _watch.watch_live(
                chosen.context,
                res,
                namespace,
                parsed,
                resource_version=resource_version,
                timeout=timeout,
                bookmarks=bookmarks,
                initial=initial,
                reconnect_timeout=reconnect_timeout,
            )
        ns = [namespace] if namespace else None
        return _watch.watch_snapshot(chosen.name, res, chosen.items(res, ns, parsed), initial)

    # ------------------------------------------------------------------ history
    def _changes(self) -> _ChangeStore:
        store = _ChangeStore(self._ctx.clients.get("clickhouse", _open_clickhouse))
        store.require()
        return store

    def history(
        self,
        kind: str | None = None,
        name: str | None = None,
        start: Any = None,
        end: Any = None,
        *,
        namespace: str | None = None,
        cluster: str | None = None,
        what: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """What changed in the clusters between `start` (default: a day before `end`) and
        `end` (default: now), oldest first, as `hxb-lab record` saw it (see `hxb_lab.times`
        for the times). `kind` is a kind, plural or short name ("deploy", "nodes"); `what`
        keeps the changes of these kinds of change (``what=["rollout", "cordon"]``).

        Columns: time, cluster, kind, namespace, name, change (LISTED: present when
        recording began; ADDED, MODIFIED, DELETED), what (rollout, scale, cordon, uncordon,
        taint, config, created, deleted, metadata, status, event, listed), who (the field
        manager of the write, e.g. kubectl-scale; "" when unknown), summary (one line),
        diff (dict "path" -> [before, after]; paths like
        ``spec.template.spec.containers[main].image``), resource_version.
        """

        resolved = None if kind is None else resource(_checks.text(kind, "kind")).kind
        for value, field in ((name, "name"), (namespace, "namespace"), (cluster, "cluster")):
            if value is not None:
                _checks.text(value, field)
        whats = _checks.names(what, "what")
        unknown = sorted(set(whats or ()) - set(_WHATS))
        if unknown:
            raise _ParameterError(
                [f"what: {unknown[0]!r} is not one of {', '.join(_WHATS)}"], subject="history"
            )
        start_ns, end_ns = _times.time_range(self._now(), start, end, timedelta(days=1))
        rows = self._changes().history(start_ns, end_ns, resolved, name, namespace, cluster, whats)
        return _history.history_frame(rows)

    def recorder(self, kinds: Sequence[str] | None = None, **options: Any) -> _record.Recorder:
        """The recorder of these clusters' changes into the profile's telemetry store
        (`hxb-lab record`); `kinds` (default: every kind HXB Lab reads) and the options of
        `hxb_lab.cluster.record.Recorder` (flush_s, batch, reconnect_timeout, progress)."""

        wanted = _checks.names(kinds, "kinds")
        chosen = [resource(k) for k in wanted] if wanted else list(_record.RECORDED)
        sources = self.sources()
        live = [s.context for s in sources if isinstance(s, _live.LiveSource)]
        if not live:
            raise _ParameterError(
                [f"profile {self._ctx.profile.name!r} reads no live cluster (a snapshot does "
                 "not change): name kubeconfig contexts in kube.contexts to record them"]
            )  # fmt: skip
        store = _ChangeStore(self._ctx.clients.get("clickhouse", _open_clickhouse))
        return _record.Recorder(live, store, chosen, **options)

    def at(self, time: Any) -> Cluster:
        """The clusters as they were at `time` (see `hxb_lab.times`: "-2h", ISO, a
        datetime), from the recorded history: ``wb.cluster.at("-2h").pods()`` has the
        columns of ``pods()`` and the pods of then; nodes(), workloads(), gpus(),
        workspaces(), events() ... likewise."""

        at_ns = _times.to_ns(time, self._now(), "time")  # to the nanosecond, as rows are
        moment = _times.to_instant(time, self._now(), "time")
        store = self._changes()
        sources = [_history.HistorySource(store, name, at_ns) for name in store.clusters(at_ns)]
        return Cluster(self._ctx, sources=sources, at=moment)

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, directory: str | Path, kinds: Sequence[str] | None = None) -> dict[str, int]:
        """Write every cluster's objects as a snapshot directory (``<dir>/<cluster>/*.json``),
        readable offline with a profile whose ``kube.snapshot`` is `directory`.

        Returns ``{"<cluster>/<file>": count}``.
        """

        target_dir = _checks.path(directory, "directory")
        wanted = _checks.names(kinds, "kinds")
        chosen = [resource(k) for k in wanted] if wanted else [r for r in _KINDS if r.snapshot]
        written: dict[str, int] = {}
        for source in self.sources():
            target = target_dir.expanduser() / source.name
            for res in chosen:
                try:
                    items = list(source.items(res))
                except _NotFoundError:  # a CRD the cluster does not have
                    continue
                count = _snapshot.write_list(target, res, items)
                written[f"{source.name}/{res.file_name}"] = count
        return written
