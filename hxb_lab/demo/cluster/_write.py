"""Write a simulated platform into a live API server, statuses included.

Objects are created owners first; the server gives each a new uid, so owner references
and events are rewritten to point at the uids it returned. Statuses go through the
``/status`` subresource (a create ignores them). Quotas get a zero usage first, since
the ResourceQuota admission plugin refuses pods in a namespace whose quota has no status
(no controller manager runs to fill it in), and their simulated usage at the end.
Nodes get their simulated taints back after the admission plugin added ``not-ready``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster._resources import resource
from hxb_lab.errors import ConflictError

if TYPE_CHECKING:
    from hxb_lab.clients.kube import KubeContext
    from hxb_lab.demo.cluster.simulate import Platform

__all__ = ["apply_platform"]

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"
#: Creation order: owners before what they own, pods before their events.
PHASES: tuple[tuple[str, ...], ...] = (
    ("namespaces",),
    ("nodes", "resourcequotas", "storageclasses.storage.k8s.io", "persistentvolumes"),
    (
        "inferenceservices.serving.kserve.io",
        "models.mlops.seldon.io",
        "applications.argoproj.io",
        "cephclusters.ceph.rook.io",
        "notebooks.kubeflow.org",
        "externalsecrets.external-secrets.io",
        "sealedsecrets.bitnami.com",
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
        "ingressroutes.traefik.io",
        "podautoscalers.autoscaling.internal.knative.dev",
        "ingresses.networking.k8s.io",
        "services",
        "secrets",
        "persistentvolumeclaims",
        "horizontalpodautoscalers.autoscaling",
        "poddisruptionbudgets.policy",
    ),
    ("pipelineruns.tekton.dev", "taskruns.tekton.dev"),
    ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"),
    ("replicasets.apps",),
    ("pods",),
    ("events",),
)
_SERVER_SET = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")


class _Writer:
    def __init__(self, context: KubeContext, workers: int) -> None:
        self.context = context
        self.workers = workers
        self.uids: dict[str, str] = {}
        self.lock = threading.Lock()

    def _uid(self, simulated: str) -> str:
        with self.lock:
            return self.uids.get(simulated, simulated)

    def create(self, kind: str, obj: Obj, status: Obj | None) -> None:
        res = resource(kind)
        meta = {k: v for k, v in obj["metadata"].items() if k not in _SERVER_SET}
        if "ownerReferences" in meta:
            meta["ownerReferences"] = [
                {**ref, "uid": self._uid(ref["uid"])} for ref in meta["ownerReferences"]
            ]
        body = {k: v for k, v in obj.items() if k != "status"}
        body["metadata"] = meta
        if "involvedObject" in body:
            involved = body["involvedObject"]
            body["involvedObject"] = {**involved, "uid": self._uid(involved["uid"])}
        namespace = meta.get("namespace")
        try:
            created = self.context.json("POST", res.path(namespace), body=body)
        except ConflictError as exc:
            if kind == "namespaces":  # kube-system, default: every cluster has them
                labels = {"metadata": {"labels": meta.get("labels") or {}}}
                path = res.path(None, meta["name"])
                created = self.context.json("PATCH", path, body=labels, content_type=MERGE)
                with self.lock:
                    self.uids[obj["metadata"]["uid"]] = created["metadata"]["uid"]
                return
            raise ConflictError(
                f"{res.kind} {namespace + '/' if namespace else ''}{meta['name']} already "
                f"exists on {self.context.name!r}: {exc.message}",
                hint="simulate with another prefix= to keep platforms apart",
            ) from None
        with self.lock:
            self.uids[obj["metadata"]["uid"]] = created["metadata"]["uid"]
        if status:
            self.status(kind, obj, status)
        if kind == "nodes":
            # TaintNodesByCondition taints every new node not-ready until its kubelet reports
            # in, and the node lifecycle controller lifts it; neither runs here, so the
            # simulated taints are written back.
            taints = {"spec": {"taints": obj["spec"].get("taints")}}
            self.context.json(
                "PATCH", res.path(None, meta["name"]), body=taints, content_type=MERGE
            )

    def status(self, kind: str, obj: Obj, status: Obj) -> None:
        res = resource(kind)
        meta = obj["metadata"]
        path = res.path(meta.get("namespace"), meta["name"]) + "/status"
        self.context.json("PATCH", path, body={"status": status}, content_type=MERGE)

    def run(self, jobs: Sequence[Callable[[], None]]) -> None:
        if self.workers <= 1 or len(jobs) < 2:
            for job in jobs:
                job()
            return
        with ThreadPoolExecutor(self.workers) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()


def _zero_usage(quota: Obj) -> Obj:
    hard = quota["spec"]["hard"]
    return {"hard": dict(hard), "used": dict.fromkeys(hard, "0")}


def apply_platform(platform: Platform, context: KubeContext, workers: int = 8) -> dict[str, int]:
    """Create every object of `platform` through `context`; returns counts per kind."""
    writer = _Writer(context, workers)
    counts: dict[str, int] = {}
    for phase in PHASES:
        jobs: list[Callable[[], None]] = []
        for kind in phase:
            for obj in platform[kind]:
                status = obj.get("status")
                if kind == "resourcequotas":
                    status = _zero_usage(obj)
                elif kind in ("namespaces", "events", "storageclasses.storage.k8s.io"):
                    status = None
                jobs.append(functools.partial(writer.create, kind, obj, status))
            counts[kind] = len(platform[kind])
        writer.run(jobs)
    writer.run(
        [
            functools.partial(writer.status, "resourcequotas", quota, quota["status"])
            for quota in platform["resourcequotas"]
        ]
    )
    return counts
