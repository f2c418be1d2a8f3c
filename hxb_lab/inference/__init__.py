"""Inference deployments (KServe, Seldon, Triton): status, health and guarded actions.

Reads are frames. Actions (`scale`, `canary`, `promote`, `rollback`,
`promote_from_registry`) are dry runs by default: they return a `Change` whose `diff` a
person reviews and whose `apply()` makes exactly that change, or `apply=True` at once.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hxb_lab import checks as _checks
from hxb_lab.errors import ParameterError as _ParameterError
from hxb_lab.inference import _kube, _model_ref, _revisions, actions, deployments, health
from hxb_lab.inference._change import Change

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.context import Context
    from hxb_lab.gitops import GitOps
    from hxb_lab.inference._kube import Found
    from hxb_lab.models import Models, ModelVersion
    from hxb_lab.telemetry import Metrics, Traces

__all__ = ["Change", "Inference"]

Namespaces = str | Sequence[str] | None
When = datetime | timedelta | str | None


class Inference:
    """The profile's inference deployments as frames, and reviewable rollout actions.

    Deployments are read through `cluster`, their traffic and GPU use through `metrics`,
    what their callers see through `traces`, and the registry versions that actions
    deploy are resolved through `models`; `gitops` says which Argo CD Application, if
    any, manages the deployment an action changes.
    """

    def __init__(
        self,
        ctx: Context,
        *,
        cluster: Cluster,
        metrics: Metrics,
        models: Models,
        traces: Traces | None = None,
        gitops: GitOps | None = None,
    ) -> None:
        self._ctx = ctx
        self._gitops = gitops
        self._cluster = cluster
        self._metrics = metrics
        self._models = models
        self._traces = traces

    def __repr__(self) -> str:
        return f"<Inference of profile {self._ctx.profile.name!r}>"

    # ------------------------------------------------------------------ reads
    def deployments(self, namespace: Namespaces = None) -> pd.DataFrame:
        """Every KServe InferenceService and Seldon Model, one row each.

        Columns: cluster, namespace, workspace, name, kind (kserve | seldon), ready,
        reason and message (why it is not ready), url, model_format, runtime,
        storage_uri, model_name and model_version (the registered version it serves),
        previous_model_version (what the previous revision serves), min_replicas,
        max_replicas (<NA>: no bound), replicas, ready_replicas, gpus_per_replica,
        gpu_product (from the node selector or affinity), canary_percent (the latest
        revision's share of traffic while a canary runs, else <NA>),
        latest_ready_revision, previous_revision, created.
        """

        names = _checks.names(namespace, "namespace")
        return deployments.deployments_frame(self._cluster, names)

    def pods(
        self, name: str, *, namespace: str | None = None, cluster: str | None = None
    ) -> pd.DataFrame:
        """The pods behind one deployment (by its serving labels), with nodes and GPUs.

        Columns: those of `wb.cluster.pods()` (cluster, namespace, workspace, name, phase,
        reason, ready, restarts, node, cpu_requests, memory_requests, gpu_requests, ...,
        started, created, labels, annotations), then deployment, component (predictor,
        transformer, ...), revision, model_version, gpu_product (of the pod's node).
        """

        return deployments.pods_frame(self._cluster, self._find(name, namespace, cluster))

    def health(
        self, start: When = None, end: When = None, *, namespace: Namespaces = None
    ) -> pd.DataFrame:
        """Per deployment over [start, end) (default: the last hour): traffic, errors and
        latency from what its runtime exports (Triton, MLServer, TorchServe, or KServe's
        own model server and queue-proxy), GPU use of its pods from DCGM, joined on pod and
        node; and what its callers saw, from traces.

        Columns: cluster, namespace, workspace, name, kind, ready, model_version,
        canary_percent, pods, gpus, request_rate (requests/s), error_rate (share of
        requests that failed), p50_ms, p95_ms (each from the runtime's metrics:
        metrics_source), gpu_utilization (mean %, of its GPUs), gpu_memory_used (bytes,
        summed over its GPUs), gpu_memory_share (used over used + free memory of those
        GPUs), metrics_source (the runtime whose metrics gave request_rate to p95_ms:
        triton, mlserver, torchserve, kserve; empty when none did), caller_calls (traced
        calls to it from other services), caller_error_rate (share of those that failed,
        including calls that never reached it), caller_p95_ms (of the slowest caller's
        spans); the caller_* columns come from the trace dependencies, matched on the
        service named like the deployment.
        NaN where no such figure exists (a runtime without a latency histogram, no GPU, no
        traced caller).
        """

        names = _checks.names(namespace, "namespace")
        return health.health_frame(self._cluster, self._metrics, start, end, names, self._traces)

    # ------------------------------------------------------------------ actions
    def _find(self, name: str, namespace: str | None, cluster: str | None) -> Found:
        for field, value in (("namespace", namespace), ("cluster", cluster)):
            if value is not None:
                _checks.text(value, field)
        return _kube.find(self._cluster, name, namespace, cluster)

    def _done(self, change: Change, apply: bool) -> Change:
        _checks.flag(apply, "apply")
        change = self._guarded(change)
        return change.apply() if apply else change

    def _guarded(self, change: Change) -> Change:
        """`change` with the Argo CD Application that manages its target, if any."""
        found = change._found
        if self._gitops is None or found is None or change.empty:
            return change
        with warnings.catch_warnings():  # a cluster without Argo CD is no news here
            warnings.simplefilter("ignore")
            managers = self._gitops.managers(
                found.cluster, found.resource.group, found.resource.kind, found.obj
            )
        if not managers:
            return change
        chosen = next((m for m in managers if m.reverts), managers[0])
        return dataclasses.replace(change, gitops=chosen.note(), reverted=chosen.reverts)

    def scale(
        self,
        name: str,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
        *,
        namespace: str | None = None,
        cluster: str | None = None,
        apply: bool = False,
    ) -> Change:
        """Set a deployment's replica bounds. A dry run unless `apply=True`."""
        for field, value in (("min_replicas", min_replicas), ("max_replicas", max_replicas)):
            if value is not None:
                _checks.whole(value, field, minimum=0, maximum=10_000)
        found = self._find(name, namespace, cluster)
        return self._done(actions.scale(found, min_replicas, max_replicas), apply)

    def canary(
        self,
        name: str,
        storage_uri: str | None = None,
        *,
        model: str | None = None,
        version: int | str | None = None,
        alias: str | None = None,
        percent: int = 10,
        namespace: str | None = None,
        cluster: str | None = None,
        apply: bool = False,
    ) -> Change:
        """Route `percent` % of a KServe deployment's traffic to a new model: a storage URI,
        or a registry version (`version=` or `alias=`; `model=` defaults to the one it
        serves). A dry run unless `apply=True`."""
        _checks.whole(percent, "percent", minimum=1, maximum=99)
        found = self._find(name, namespace, cluster)
        uri, chosen = self._target(found, storage_uri, model, version, alias)
        return self._done(actions.canary(found, uri, chosen, percent), apply)

    def promote(
        self,
        name: str,
        *,
        namespace: str | None = None,
        cluster: str | None = None,
        apply: bool = False,
    ) -> Change:
        """Give the canary 100 % of the traffic. A dry run unless `apply=True`."""
        found = self._find(name, namespace, cluster)
        return self._done(actions.promote(found), apply)

    def rollback(
        self,
        name: str,
        *,
        namespace: str | None = None,
        cluster: str | None = None,
        apply: bool = False,
    ) -> Change:
        """Serve the model served before again, with all traffic (a running canary is
        dropped). What served before is what HXB Lab's last action recorded, else the
        previous revision's model, else the registry's newest version older than the one
        served. A dry run unless `apply=True`."""
        found = self._find(name, namespace, cluster)
        uri, ref = actions.previous_model(
            found,
            self._previous_revision(found),
            lambda current: self._models.version_before(
                str(current.name), int(current.version or 0)
            ),
        )
        return self._done(actions.rollback(found, uri, ref), apply)

    def promote_from_registry(
        self,
        name: str,
        model: str | None = None,
        alias: str = "champion",
        *,
        namespace: str | None = None,
        cluster: str | None = None,
        apply: bool = False,
    ) -> Change:
        """Serve the registry version that `alias` of `model` (default: the model it serves)
        points to, with all traffic: the storage URI becomes the version's download URI.
        A dry run unless `apply=True`."""
        if model is not None:
            _checks.text(model, "model")
        _checks.text(alias, "alias")
        found = self._find(name, namespace, cluster)
        chosen = self._models.resolve(self._model_name(found, model), alias=alias)
        return self._done(actions.promote_to(found, chosen), apply)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _model_name(found: Found, model: str | None) -> str:

        name = model or actions.current_model(found).name
        if not name:
            raise _ParameterError(
                [f"model: {found.namespace}/{found.name} names no registered model; pass model="]
            )
        return name

    def _target(
        self,
        found: Found,
        storage_uri: str | None,
        model: str | None,
        version: int | str | None,
        alias: str | None,
    ) -> tuple[str, ModelVersion | None]:

        if storage_uri is not None and (
            not isinstance(storage_uri, str) or ":/" not in storage_uri
        ):
            share = (
                f"; to send {storage_uri} % of the traffic, pass percent={storage_uri}"
                if isinstance(storage_uri, int | float) and not isinstance(storage_uri, bool)
                else ""
            )
            raise _ParameterError(
                [
                    f"storage_uri: {storage_uri!r} is not a model URI (such as "
                    f"'s3://bucket/model' or 'models:/name/3'){share}"
                ]
            )
        if sum(x is not None for x in (storage_uri, version, alias)) != 1:
            raise _ParameterError(["pass exactly one of storage_uri=, version= and alias="])
        for field, value in (("storage_uri", storage_uri), ("model", model), ("alias", alias)):
            if value is not None:
                _checks.text(value, field)
        if storage_uri is not None:
            ref = _model_ref.model_ref(storage_uri, {})
            if ref.name is None:  # not a models:/ URI: served as given
                return storage_uri, None
            model, version, alias = ref.name, ref.version, ref.alias
        name = self._model_name(found, model)
        chosen = self._models.resolve(name, version=version, alias=alias)
        return chosen.download_uri, chosen

    def _previous_revision(self, found: Found) -> tuple[str | None, _model_ref.ModelRef] | None:
        """(storage URI, ModelRef) of what the previous rolled-out revision served."""

        status = found.obj.get("status") or {}
        revision = ((status.get("components") or {}).get("predictor") or {}).get(
            "previousRolledoutRevision"
        )
        if not revision:
            return None
        key = (found.cluster, found.namespace, str(revision))
        before = _revisions.revisions(self._cluster, [key]).get(key)
        if before is None or (before.storage_uri is None and before.version is None):
            return None
        ref = _model_ref.ModelRef(before.model, before.version)
        uri = before.storage_uri
        if uri is None and before.model is not None and before.version is not None:
            uri = self._models.resolve(before.model, version=before.version).download_uri
        return uri, ref
