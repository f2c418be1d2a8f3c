"""The platform's stack around the workloads, as frames: traffic (Istio, NGINX, Traefik),
storage (claims, volumes, classes, Rook-Ceph), scaling (HPAs, Knative/KServe autoscaling,
disruption budgets), Kubeflow notebooks and secrets operators.

``wb.platform`` reads them from every cluster of the profile, live or snapshot. A cluster
without an operator's CRD gives an empty frame and one warning naming the CRD; see
`hxb_lab.platform._read` for the other partial reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab import checks as _checks
from hxb_lab import frames as _frame
from hxb_lab.cluster import IDLE_BELOW_PCT, resource
from hxb_lab.cluster.live import LiveSource
from hxb_lab.errors import ForbiddenError as _ForbiddenError
from hxb_lab.platform import notebooks as _notebooks
from hxb_lab.platform import scaling as _scaling
from hxb_lab.platform import secrets as _secrets
from hxb_lab.platform import storage as _storage
from hxb_lab.platform import traffic as _traffic
from hxb_lab.platform._certs import tls_certificate
from hxb_lab.platform._read import Item, get_one, note_missing_status, read_kind
from hxb_lab.warn import warn_user as _warn_user

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.cluster import Cluster
    from hxb_lab.context import Context
    from hxb_lab.telemetry import Metrics

__all__ = ["Platform"]

Namespaces = str | Sequence[str] | None


class Platform:
    """Reads of the platform's stack (`wb.platform`)."""

    def __init__(self, ctx: Context, *, cluster: Cluster, metrics: Metrics) -> None:
        self._ctx = ctx
        self._cluster = cluster
        self._metrics = metrics

    def __repr__(self) -> str:
        return f"<Platform of profile {self._ctx.profile.name!r}>"

    def _read(self, kind: str, namespace: Namespaces = None) -> list[Item]:
        return list(read_kind(self._cluster, kind, _checks.names(namespace, "namespace")))

    # ------------------------------------------------------------------ traffic
    @_frame.bulk
    def routes(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per destination of each HTTP route of the Istio VirtualServices.

        Columns: cluster, namespace, virtual_service, hosts, gateways, route (its name, else
        its index), match ("uri prefix /v1; header x-canary=1"), destination (the mesh host
        as ``service.namespace``), subset, port, weight (percent; 100 for a lone
        destination), subset_labels (from the host's DestinationRule), subset_defined (False
        when no DestinationRule defines the subset: Istio answers 503), revision (the
        subset's ``serving.knative.dev/revision``), inference_service and kserve_percent
        (the InferenceService listing that revision, and the percent its status gives it),
        created.
        """
        names = _checks.names(namespace, "namespace")
        services = self._optional("InferenceService", names)
        virtual = self._read("VirtualService", names)
        rules = list(read_kind(self._cluster, "DestinationRule"))  # hosts cross namespaces
        return _traffic.routes_frame(virtual, rules, services)

    def route_metrics(self, start: Any = "-1h", end: Any = None) -> pd.DataFrame:
        """Istio's request metrics per route destination, when the metrics store has them:
        the revision each destination sends to, its requests and 5xx per second and its p95
        latency (the mean of the per-step p95) over the range, from
        ``istio_requests_total`` and ``istio_request_duration_milliseconds`` (reporter
        "destination", by destination service and canonical revision).

        Columns: namespace, virtual_service, route, destination, subset, weight, revision,
        inference_service, requests_per_s, errors_per_s, error_rate, p95_ms (NaN without
        samples; one warning when the store has no Istio metrics in the range).
        """
        routes = self.routes()
        where = {"reporter": "destination"}
        by = list(_traffic.ISTIO_BY)
        requests = self._metrics.query(
            "istio_requests_total", where, [*by, "response_code"], "sum", True, None, start, end
        )
        durations = self._metrics.query(
            "istio_request_duration_milliseconds", where, by, "p95", False, None, start, end
        )
        if requests.empty and len(routes):
            _warn_user(
                "the metrics store holds no istio_requests_total in the range: the routes' "
                "request, error and latency columns are empty"
            )
        return _traffic.route_metrics_frame(routes, requests, durations)

    @_frame.bulk
    def ingresses(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per host and path of the Ingresses (NGINX and any other class) and of
        Traefik's IngressRoutes.

        Columns: cluster, namespace, kind (Ingress, IngressRoute), name, ingress_class
        ("nginx", "traefik", ...), host, path, service, service_port, deployment (the
        Deployments the Service selects), tls_secret, tls_expires (the certificate's
        notAfter; NaT without TLS or when the Secret cannot be read), tls_days_left,
        created.
        """
        names = _checks.names(namespace, "namespace")
        found: list[tuple[str, str, dict[str, Any]]] = [
            (c, "Ingress", o) for c, o in self._read("Ingress", names)
        ]
        found += [(c, "IngressRoute", o) for c, o in self._read("IngressRoute", names)]
        wanted = sorted({str((o.get("metadata") or {}).get("namespace")) for _, _, o in found})
        services = self._read("Service", wanted) if wanted else []
        deployments = self._read("Deployment", wanted) if wanted else []
        denied: list[str] = []

        def certificate(cluster: str, ns: str, secret: str) -> bytes | None:
            try:
                return tls_certificate(get_one(self._cluster, "Secret", cluster, ns, secret))
            except _ForbiddenError:
                denied.append(f"{ns}/{secret}")
                return None

        frame = _traffic.ingresses_frame(found, services, deployments, certificate, self._ctx.now())
        if denied:
            _warn_user(
                f"the user may not read TLS Secret(s) {', '.join(denied)}: their tls_expires "
                "is empty (it needs `get` on those Secrets)"
            )
        return frame

    # ------------------------------------------------------------------ storage
    @_frame.bulk
    def volumes(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per PersistentVolumeClaim, then one per PersistentVolume no claim holds.

        Columns: cluster, namespace, claim, status (Bound, Pending, Lost; for a volume
        without a claim "VolumeAvailable", "VolumeReleased", "VolumeFailed"), storage_class,
        provisioner, requested_bytes, capacity_bytes (what the bound volume gives), access_modes
        ("ReadWriteOnce, ReadOnlyMany"), volume, reclaim_policy, pods (that mount the claim),
        model_cache (labelled ``hxb.io/model-cache=true``, or mounted by a model server or
        a notebook), created.
        """
        names = _checks.names(namespace, "namespace")
        claims = self._read("PersistentVolumeClaim", names)
        volumes = [] if names else self._read("PersistentVolume")
        classes = self._read("StorageClass")
        pods = self._read("Pod", names)
        return _storage.claims_frame(claims, volumes, classes, pods)

    @_frame.bulk
    def storage_classes(self) -> pd.DataFrame:
        """One row per StorageClass, with what its claims ask.

        Columns: cluster, name, provisioner, default, reclaim_policy, binding_mode
        (Immediate, WaitForFirstConsumer), expansion, claims, pending (claims not yet
        bound), requested_bytes.
        """
        classes = self._read("StorageClass")
        claims = _storage.claims_frame(self._read("PersistentVolumeClaim"), [], classes, [])
        return _storage.storage_classes_frame(classes, claims)

    @_frame.bulk
    def ceph(self) -> pd.DataFrame:
        """One row per Rook CephCluster: its health as Ceph reports it.

        Columns: cluster, namespace, name, phase (Ready, Progressing, ...), health
        (HEALTH_OK, HEALTH_WARN, HEALTH_ERR), checks ("OSD_NEARFULL (HEALTH_WARN): ..."),
        capacity_bytes, used_bytes, available_bytes, used_share (0-1), ceph_version,
        last_checked.
        """
        items = self._read("CephCluster")
        note_missing_status("CephCluster", items)
        return _storage.ceph_frame(items)

    # ------------------------------------------------------------------ scaling
    @_frame.bulk
    def autoscalers(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per HorizontalPodAutoscaler and per Knative PodAutoscaler (KServe's
        serverless revisions, with the InferenceService's own bounds).

        Columns: cluster, namespace, kind, name, target_kind, target_name,
        inference_service, min_replicas, max_replicas, current_replicas, desired_replicas,
        metric ("cpu", "concurrency", ...), target (utilisation % or value), current,
        at_max (current replicas at the maximum: it cannot scale further), limited (the
        HPA's ScalingLimited reason, e.g. TooManyReplicas), last_scale.
        """
        names = _checks.names(namespace, "namespace")
        hpas = self._read("HorizontalPodAutoscaler", names)
        kpas = self._read("PodAutoscaler", names)
        note_missing_status("HorizontalPodAutoscaler", hpas)
        services = self._optional("InferenceService", names) if kpas else []
        return _scaling.autoscalers_frame(hpas, kpas, services)

    @_frame.bulk
    def disruption_budgets(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per PodDisruptionBudget.

        Columns: cluster, namespace, name, selector, min_available, max_unavailable,
        expected_pods, current_healthy, desired_healthy, disruptions_allowed,
        blocks_eviction (no disruption allowed: every eviction of its pods is refused),
        created.
        """
        items = self._read("PodDisruptionBudget", _checks.names(namespace, "namespace"))
        note_missing_status("PodDisruptionBudget", items)
        return _scaling.budgets_frame(items)

    @_frame.bulk
    def evictions(self, node: str) -> pd.DataFrame:
        """What the Eviction API would answer for each pod a drain of `node` evicts.

        Columns: cluster, namespace, pod, node, budget (the PodDisruptionBudget selecting
        the pod), disruptions_allowed (left when the pod's turn comes), refused, reason.
        """
        name = _checks.text(node, "node")
        return _scaling.evictions_frame(
            name, self._pods_on(name), self._read("PodDisruptionBudget")
        )

    def _pods_on(self, node: str) -> Iterator[Item]:
        """The pods bound to `node` (a live server filters them by field selector)."""
        pods = resource("Pod")
        for source in self._cluster.sources():
            if isinstance(source, LiveSource):
                found = source.items(pods, field_selector=f"spec.nodeName={node}")
            else:
                found = source.items(pods)
            for item in found:
                yield source.name, item

    # ------------------------------------------------------------------ kubeflow
    @_frame.bulk
    def notebooks(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per Kubeflow Notebook.

        Columns: cluster, namespace, workspace, name, status (Running, Stopped, Pending,
        a waiting reason such as ImagePullBackOff), image, gpus, mig_devices, gpu_product,
        pod, node, last_activity (Kubeflow's culler annotation; NaT without it), created.
        """
        names = _checks.names(namespace, "namespace")
        items = self._read("Notebook", names)
        pods = self._read("Pod", names) if items else []
        nodes = self._read("Node") if items else []
        return _notebooks.notebooks_frame(items, pods, nodes, self._cluster.workspace_map())

    def idle_notebooks(
        self, start: Any = "-1h", end: Any = None, idle_below: float = IDLE_BELOW_PCT
    ) -> pd.DataFrame:
        """The Notebooks holding GPUs, with their pods' DCGM utilisation over the range.

        Columns: those of `notebooks`, then utilization_pct (mean), samples and
        cull_candidate (running, holding GPUs, under `idle_below` %; or holding whole GPUs
        without a sample: MIG devices often come without the pod's name).
        Cull candidates first.
        """
        threshold = _checks.number(idle_below, "idle_below", minimum=0, maximum=100)
        books = self.notebooks()
        holding = books[(books["gpus"] + books["mig_devices"]) > 0]
        usage = self._metrics.gpu_utilization(start=start, end=end) if len(holding) else None
        joined = _notebooks.with_utilization(
            holding, usage if usage is not None else holding.iloc[0:0], threshold
        )
        return joined.sort_values(
            ["cull_candidate", "utilization_pct"], ascending=[False, True], na_position="first"
        ).reset_index(drop=True)

    # ------------------------------------------------------------------ secrets
    @_frame.bulk
    def secret_syncs(self, namespace: Namespaces = None) -> pd.DataFrame:
        """One row per ExternalSecret and SealedSecret: is its Secret in sync? (never values)

        Columns: cluster, namespace, kind, name, target_secret, store ("ClusterSecretStore/
        vault"), synced (NA before the controller reports), reason (SecretSynced,
        SecretSyncedError, ...), message, refresh_interval, last_sync, keys (how many
        keys it maps; counted, not read), created.
        """
        names = _checks.names(namespace, "namespace")
        items: list[tuple[str, str, dict[str, Any]]] = [
            (c, "ExternalSecret", o) for c, o in self._read("ExternalSecret", names)
        ]
        items += [(c, "SealedSecret", o) for c, o in self._read("SealedSecret", names)]
        note_missing_status(
            "ExternalSecret", [(c, o) for c, k, o in items if k == "ExternalSecret"]
        )
        note_missing_status("SealedSecret", [(c, o) for c, k, o in items if k == "SealedSecret"])
        return _secrets.secret_syncs_frame(items)

    def _optional(self, kind: str, names: Sequence[str] | None) -> list[Item]:
        """A kind joined in for context: its absence is not worth a note."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(read_kind(self._cluster, kind, names))
