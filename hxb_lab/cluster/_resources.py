"""Resource kinds declared as data (group, version, plural, namespaced), the kr8s habit.

One `Resource` tells both transports everything they need: the API path of the live
server and the file name of a snapshot (``<plural>[.<group>].json``, the name
``kubectl get <plural>.<group> -A -o json`` output is saved under).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from hxb_lab.errors import ClusterError

__all__ = ["CONSTRAINTS_GROUP", "KINDS", "Resource", "constraint_kind", "resource"]


@dataclass(frozen=True)
class Resource:
    """One kind of Kubernetes object."""

    kind: str
    plural: str
    group: str = ""  # "" is the core group
    version: str = "v1"
    namespaced: bool = True
    short: tuple[str, ...] = ()
    snapshot: bool = True  # written by `Cluster.snapshot()` (configuration data is not)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``plural.group`` as kubectl spells it (``deployments.apps``; ``pods`` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def file_name(self) -> str:
        """The snapshot file holding this kind's list."""
        return f"{self.qualified}.json"

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The API path of the collection (cluster-wide, or in one namespace) or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
        return base


KINDS: tuple[Resource, ...] = (
    Resource("Namespace", "namespaces", namespaced=False, short=("ns",)),
    Resource("Node", "nodes", namespaced=False, short=("no",)),
    Resource("Pod", "pods", short=("po",)),
    Resource("Event", "events", short=("ev",)),
    Resource("ResourceQuota", "resourcequotas", short=("quota",)),
    Resource("Service", "services", short=("svc",)),
    Resource("ConfigMap", "configmaps", short=("cm",), snapshot=False),
    Resource("Deployment", "deployments", "apps", short=("deploy",)),
    Resource("ReplicaSet", "replicasets", "apps", short=("rs",)),
    Resource("StatefulSet", "statefulsets", "apps", short=("sts",)),
    Resource("DaemonSet", "daemonsets", "apps", short=("ds",)),
    Resource("Job", "jobs", "batch"),
    Resource("CronJob", "cronjobs", "batch", short=("cj",)),
    Resource(
        "InferenceService", "inferenceservices", "serving.kserve.io", "v1beta1", short=("isvc",)
    ),
    Resource("Model", "models", "mlops.seldon.io", "v1alpha1", short=("mlsm",)),
    Resource("Application", "applications", "argoproj.io", "v1alpha1", short=("app",)),
    # The platform's stack: traffic, storage, scaling, notebooks, secrets operators.
    Resource("Ingress", "ingresses", "networking.k8s.io", short=("ing",)),
    Resource("VirtualService", "virtualservices", "networking.istio.io", "v1", short=("vs",)),
    Resource("DestinationRule", "destinationrules", "networking.istio.io", "v1", short=("dr",)),
    Resource("IngressRoute", "ingressroutes", "traefik.io", "v1alpha1"),
    Resource("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    Resource("PersistentVolume", "persistentvolumes", namespaced=False, short=("pv",)),
    Resource("StorageClass", "storageclasses", "storage.k8s.io", namespaced=False, short=("sc",)),
    Resource("CephCluster", "cephclusters", "ceph.rook.io"),
    Resource(
        "HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling", "v2", short=("hpa",)
    ),
    Resource(
        "PodAutoscaler",
        "podautoscalers",
        "autoscaling.internal.knative.dev",
        "v1alpha1",
        short=("kpa",),
    ),
    Resource("PodDisruptionBudget", "poddisruptionbudgets", "policy", short=("pdb",)),
    Resource("Notebook", "notebooks", "kubeflow.org"),
    Resource("ExternalSecret", "externalsecrets", "external-secrets.io", short=("es",)),
    Resource("SealedSecret", "sealedsecrets", "bitnami.com", "v1alpha1"),
    # Secrets are read one by one, for a TLS certificate's dates only, and never snapshotted.
    Resource("Secret", "secrets", snapshot=False),
    Resource("PipelineRun", "pipelineruns", "tekton.dev", "v1", short=("pr",)),
    Resource("TaskRun", "taskruns", "tekton.dev", "v1", short=("tr",)),
    Resource(
        "ConstraintTemplate", "constrainttemplates", "templates.gatekeeper.sh", namespaced=False
    ),
)

#: The group of Gatekeeper's constraints: one kind per ConstraintTemplate, made at run time.
CONSTRAINTS_GROUP = "constraints.gatekeeper.sh"


def constraint_kind(kind: str) -> Resource:
    """The resource of one Gatekeeper constraint kind (its plural is the kind in lower case)."""
    return Resource(kind, kind.lower(), CONSTRAINTS_GROUP, "v1beta1", namespaced=False)


_BY_NAME: dict[str, Resource] = {}
for _r in KINDS:
    for _alias in (_r.kind, _r.plural, _r.qualified, _r.kind.lower(), *_r.short):
        _BY_NAME.setdefault(_alias.lower(), _r)


def resource(name: str | Resource) -> Resource:
    """The resource called `name`: a kind, a plural, ``plural.group`` or a short name."""
    if isinstance(name, Resource):
        return name
    found = _BY_NAME.get(name.lower())
    if found is None:
        known = ", ".join(r.qualified for r in KINDS)
        raise ClusterError(f"unknown resource kind {name!r}", hint=f"known kinds: {known}")
    return found
