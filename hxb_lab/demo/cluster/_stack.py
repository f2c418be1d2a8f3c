"""The platform's stack in the demo: traffic, storage, scaling, notebooks, secrets operators.

Each kind has something worth finding, tied to the rest of the story:
- traffic: llm-chat's canary split 80/20 by an Istio VirtualService over two revisions;
  the assistant API's NGINX Ingress presents a certificate that expires in 9 days;
- storage: Ceph is nearly full (HEALTH_WARN, OSD_NEARFULL), and the new model cache of
  the assistant workspace waits Pending on it;
- scaling: the assistant API's HPA is at its maximum and wants more; a
  PodDisruptionBudget keeps the model server on the first H100 node from being evicted,
  so node-drain-readiness says its drain would be refused;
- Kubeflow: every notebook server is a Notebook, Kim's forgotten one on an A100 included;
- secrets: the risk workspace's database URL fails to sync from Vault (and report-builder
  crash-loops with ``KeyError: 'RISK_DB_URL'``).

Everything is drawn from a random stream of its own (`Builder.aside`), so the rest of the
platform is the same as without it.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import condition, ts
from hxb_lab.demo.cluster._pods import pod_ready

if TYPE_CHECKING:
    from hxb_lab.demo.cluster.simulate import _Simulation

__all__ = ["CERT_DAYS_LEFT", "tell_stack"]

Obj = dict[str, Any]
ISVC = "serving.kserve.io/inferenceservice"
#: Days the assistant API's certificate has left when the demo is seeded.
CERT_DAYS_LEFT = 9
TIB = 2**40


def tell_stack(sim: _Simulation) -> None:
    """Add the stack's objects to `sim` (after the rest of the story)."""
    with sim.b.aside("platform-stack"):
        ws = dict(zip(scenario.WORKSPACES, sim.workspaces, strict=False))
        _storage(sim, ws)
        _scaling(sim, ws)
        _notebooks(sim)
        _secrets(sim, ws)
        _traffic(sim, ws)


def _obj(api: str, kind: str, meta: Obj, **body: Any) -> Obj:
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


def _days(sim: _Simulation, low: int, high: int) -> datetime:
    return sim.b.ago(timedelta(days=low), timedelta(days=high))


# ---------------------------------------------------------------------- storage
def _storage(sim: _Simulation, ws: dict[str, str]) -> None:
    b = sim.b
    rook = sim.ns("rook-ceph")
    sim.add(
        "namespaces",
        _obj("v1", "Namespace", b.meta(rook, None, _days(sim, 150, 200),
             {"kubernetes.io/metadata.name": rook}), spec={"finalizers": ["kubernetes"]},
             status={"phase": "Active"}),
    )  # fmt: skip
    classes = (
        ("ceph-block", "rook-ceph.rbd.csi.ceph.com", True, "Immediate"),
        ("ceph-filesystem", "rook-ceph.cephfs.csi.ceph.com", False, "Immediate"),
        ("local-nvme", "kubernetes.io/no-provisioner", False, "WaitForFirstConsumer"),
    )
    for name, provisioner, default, binding in classes:
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
        sim.add(
            "storageclasses.storage.k8s.io",
            _obj("storage.k8s.io/v1", "StorageClass",
                 b.meta(sim.ns(name), None, _days(sim, 150, 200), annotations=annotations),
                 provisioner=provisioner, reclaimPolicy="Delete", volumeBindingMode=binding,
                 allowVolumeExpansion=provisioner.startswith("rook")),
        )  # fmt: skip
    # A shared model cache per scenario workspace, mounted by its model servers.
    for d in scenario.DEPLOYMENTS:
        if d.kind != "kserve" or d.workspace not in ws:
            continue
        claim = f"model-cache-{d.name}"
        _claim(sim, ws[d.workspace], claim, "ceph-filesystem", "200Gi", "ReadWriteMany", True)
        _mount(sim, ws[d.workspace], {ISVC: d.name}, claim, "/mnt/models")
    # The assistant workspace's new cache for the next llm-chat version: Ceph is too full.
    _claim(sim, ws["assistant"], "model-cache-llm-chat-v9", "ceph-filesystem", "2Ti",
           "ReadWriteMany", False)  # fmt: skip
    # Kim's notebook keeps its work on a block volume.
    idle = scenario.FORGOTTEN_NOTEBOOK
    _claim(sim, ws[idle.workspace], f"{idle.name}-workspace", "ceph-block", "50Gi",
           "ReadWriteOnce", True, cache=False)  # fmt: skip
    _mount(sim, ws[idle.workspace], {"notebook-name": idle.name}, f"{idle.name}-workspace",
           "/home/jovyan")  # fmt: skip
    # A volume whose claim was deleted, kept by its Retain policy.
    _volume(sim, f"{sim.prefix}pvc-0b7e1f2a-retained", "ceph-block", "500Gi", "ReadWriteOnce", None,
            phase="Released", policy="Retain", claim_ref=(ws["search"], "old-index"))  # fmt: skip
    checked = sim.now - timedelta(seconds=40)
    total, used = 48 * TIB, int(41.6 * TIB)
    sim.add(
        "cephclusters.ceph.rook.io",
        _obj("ceph.rook.io/v1", "CephCluster", b.meta("rook-ceph", rook, _days(sim, 150, 200)),
             spec={"cephVersion": {"image": "quay.io/ceph/ceph:v19.2.2"},
                   "dataDirHostPath": "/var/lib/rook", "mon": {"count": 3}},
             status={
                 "phase": "Ready", "state": "Created", "message": "Cluster created successfully",
                 "ceph": {
                     "health": "HEALTH_WARN", "lastChecked": ts(checked),
                     "capacity": {"bytesTotal": total, "bytesUsed": used,
                                  "bytesAvailable": total - used, "lastUpdated": ts(checked)},
                     "details": {
                         "OSD_NEARFULL": {"severity": "HEALTH_WARN",
                                          "message": "3 nearfull osd(s)"},
                         "POOL_NEARFULL": {"severity": "HEALTH_WARN",
                                           "message": "2 pool(s) nearfull"},
                     },
                 },
                 "version": {"image": "quay.io/ceph/ceph:v19.2.2", "version": "19.2.2-0"},
             }),
    )  # fmt: skip


def _claim(
    sim: _Simulation, ns: str, name: str, klass: str, size: str, mode: str, bound: bool,
    *, cache: bool = True,
) -> None:  # fmt: skip
    labels = {"hxb.io/model-cache": "true"} if cache else None
    spec: Obj = {
        "accessModes": [mode],
        "resources": {"requests": {"storage": size}},
        "storageClassName": sim.ns(klass),
        "volumeMode": "Filesystem",
    }
    status: Obj = {"phase": "Pending"}
    if bound:
        volume = f"{sim.prefix}pvc-{sim.b.uid()}"
        spec["volumeName"] = volume
        status = {"phase": "Bound", "accessModes": [mode], "capacity": {"storage": size}}
        _volume(sim, volume, klass, size, mode, (ns, name))
    sim.add(
        "persistentvolumeclaims",
        _obj("v1", "PersistentVolumeClaim",
             sim.b.meta(name, ns, sim.now - timedelta(hours=3) if not bound
                        else _days(sim, 10, 60), labels), spec=spec, status=status),
    )  # fmt: skip


def _volume(
    sim: _Simulation, name: str, klass: str, size: str, mode: str,
    claim: tuple[str, str] | None, *, phase: str = "Bound", policy: str = "Delete",
    claim_ref: tuple[str, str] | None = None,
) -> None:  # fmt: skip
    ref = claim or claim_ref
    spec: Obj = {
        "accessModes": [mode],
        "capacity": {"storage": size},
        "persistentVolumeReclaimPolicy": policy,
        "storageClassName": sim.ns(klass),
        "volumeMode": "Filesystem",
        "csi": {"driver": "rook-ceph.rbd.csi.ceph.com", "volumeHandle": f"0001-{sim.b.uid()}"},
    }
    if ref:
        spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": ref[0], "name": ref[1]}
    sim.add(
        "persistentvolumes",
        _obj("v1", "PersistentVolume", sim.b.meta(name, None, _days(sim, 10, 60)), spec=spec,
             status={"phase": phase}),
    )  # fmt: skip


def _mount(sim: _Simulation, ns: str, labels: dict[str, str], claim: str, path: str) -> None:
    """Mount `claim` in the pods (and pod templates) of `ns` carrying `labels`."""
    volume = {"name": claim, "persistentVolumeClaim": {"claimName": claim}}
    for kind in ("pods", "deployments.apps", "statefulsets.apps", "replicasets.apps"):
        for obj in sim.platform[kind]:
            if obj["metadata"].get("namespace") != ns:
                continue
            spec = obj["spec"] if kind == "pods" else obj["spec"]["template"]["spec"]
            have = obj["metadata"].get("labels") or {}
            if kind != "pods":
                have = obj["spec"]["template"]["metadata"].get("labels") or {}
            if all(have.get(k) == v for k, v in labels.items()):
                spec.setdefault("volumes", []).append(volume)
                first = spec["containers"][0]
                first.setdefault("volumeMounts", []).append({"name": claim, "mountPath": path})


# ---------------------------------------------------------------------- scaling
def _deployment(sim: _Simulation, ns: str, name: str) -> Obj | None:
    for d in sim.platform["deployments.apps"]:
        if d["metadata"]["namespace"] == ns and d["metadata"]["name"] == name:
            return d
    return None


def _scaling(sim: _Simulation, ws: dict[str, str]) -> None:
    b = sim.b
    api = _deployment(sim, ws["assistant"], "api")
    if api is not None:
        replicas = int(api["spec"]["replicas"])
        scaled = sim.now - timedelta(minutes=12)
        sim.add(
            "horizontalpodautoscalers.autoscaling",
            _obj("autoscaling/v2", "HorizontalPodAutoscaler",
                 b.meta("api", ws["assistant"], _days(sim, 20, 60)),
                 spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "api"},
                       "minReplicas": 1, "maxReplicas": replicas,
                       "metrics": [{"type": "Resource", "resource": {
                           "name": "cpu",
                           "target": {"type": "Utilization", "averageUtilization": 70}}}]},
                 status={"currentReplicas": replicas, "desiredReplicas": replicas,
                         "lastScaleTime": ts(scaled),
                         "currentMetrics": [{"type": "Resource", "resource": {
                             "name": "cpu", "current": {"averageUtilization": 134,
                                                        "averageValue": "670m"}}}],
                         "conditions": [
                             condition("AbleToScale", True, scaled, "ReadyForNewScale"),
                             condition("ScalingActive", True, scaled, "ValidMetricFound"),
                             condition("ScalingLimited", True, scaled, "TooManyReplicas",
                                       "the desired replica count is more than the maximum "
                                       "replica count"),
                         ]}),
        )  # fmt: skip
    for isvc in sim.platform["inferenceservices.serving.kserve.io"]:
        _pod_autoscaler(sim, isvc)
    _blocking_budget(sim)


def _pod_autoscaler(sim: _Simulation, isvc: Obj) -> None:
    predictor = isvc["status"]["components"]["predictor"]
    revision = predictor.get("latestReadyRevision") or predictor.get("latestCreatedRevision")
    ns, name = isvc["metadata"]["namespace"], isvc["metadata"]["name"]
    pods = [
        p for p in sim.platform["pods"]
        if p["metadata"]["namespace"] == ns
        and p["metadata"].get("labels", {}).get("serving.knative.dev/revision") == revision
    ]  # fmt: skip
    ready = sum(1 for p in pods if pod_ready(p))
    at = sim.now - timedelta(minutes=sim.b.rng.randint(5, 600))
    sim.add(
        "podautoscalers.autoscaling.internal.knative.dev",
        _obj("autoscaling.internal.knative.dev/v1alpha1", "PodAutoscaler",
             sim.b.meta(revision, ns, _days(sim, 1, 20), {ISVC: name,
                        "serving.knative.dev/revision": revision}),
             spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": f"{revision}-deployment"},
                   "protocolType": "http1"},
             status={"actualScale": ready, "desiredScale": len(pods), "serviceName": revision,
                     "metricsServiceName": f"{revision}-private",
                     "conditions": [condition("Ready", ready > 0, at)]}),
    )  # fmt: skip


def _blocking_budget(sim: _Simulation) -> None:
    """A budget for the model server on the first H100 node that allows no disruption."""
    node = sim.ns("h100-0")
    on_node = [
        p for p in sim.platform["pods"]
        if p["spec"].get("nodeName") == node and ISVC in (p["metadata"].get("labels") or {})
    ]  # fmt: skip
    if not on_node:
        return
    labels = on_node[0]["metadata"]["labels"]
    name, ns = labels[ISVC], on_node[0]["metadata"]["namespace"]
    pods = [
        p for p in sim.platform["pods"]
        if p["metadata"]["namespace"] == ns and (p["metadata"].get("labels") or {}).get(ISVC) == name
    ]  # fmt: skip
    healthy = sum(1 for p in pods if pod_ready(p))
    sim.add(
        "poddisruptionbudgets.policy",
        _obj("policy/v1", "PodDisruptionBudget", sim.b.meta(name, ns, _days(sim, 20, 60)),
             spec={"minAvailable": "100%", "selector": {"matchLabels": {ISVC: name}}},
             status={"expectedPods": len(pods), "currentHealthy": healthy,
                     "desiredHealthy": len(pods), "disruptionsAllowed": 0,
                     "observedGeneration": 1,
                     "conditions": [condition("DisruptionAllowed", False, sim.now -
                                              timedelta(days=2), "InsufficientPods")]}),
    )  # fmt: skip


# ---------------------------------------------------------------------- kubeflow
def _notebooks(sim: _Simulation) -> None:
    idle = scenario.FORGOTTEN_NOTEBOOK
    for sts in sim.platform["statefulsets.apps"]:
        labels = sts["spec"]["template"]["metadata"].get("labels") or {}
        if labels.get("hxb.io/kind") != "notebook":
            continue
        name, ns = sts["metadata"]["name"], sts["metadata"]["namespace"]
        forgotten = name == idle.name
        active = sim.now - (idle.started_before_now if forgotten else timedelta(minutes=20))
        ready = int(sts["status"].get("readyReplicas") or 0)
        started = ts(sim.now - (idle.started_before_now if forgotten else timedelta(hours=5)))
        sim.add(
            "notebooks.kubeflow.org",
            _obj("kubeflow.org/v1", "Notebook",
                 sim.b.meta(name, ns, _days(sim, 1, 30) if not forgotten else
                            sim.now - idle.started_before_now,
                            annotations={"notebooks.kubeflow.org/last-activity": ts(active)}),
                 spec={"template": {"spec": sts["spec"]["template"]["spec"]}},
                 status={"readyReplicas": ready, "conditions": [],
                         "containerState": {"running": {"startedAt": started}}}),
        )  # fmt: skip


# ---------------------------------------------------------------------- secrets
def _secrets(sim: _Simulation, ws: dict[str, str]) -> None:
    synced_at = sim.now - timedelta(minutes=7)
    for workspace, ns in ws.items():
        failing = workspace == "risk"
        name = "risk-db-url" if failing else f"{workspace}-db-credentials"
        cond = (
            condition("Ready", False, sim.now - timedelta(hours=6), "SecretSyncedError",
                      "could not get secret data from provider: secret "
                      '"platform/risk/db" not found in vault')
            if failing
            else condition("Ready", True, synced_at, "SecretSynced", "secret synced")
        )  # fmt: skip
        status: Obj = {"conditions": [cond], "refreshTime": ts(synced_at)}
        if failing:
            status["refreshTime"] = ts(sim.now - timedelta(days=2))
        sim.add(
            "externalsecrets.external-secrets.io",
            _obj("external-secrets.io/v1", "ExternalSecret",
                 sim.b.meta(name, ns, _days(sim, 20, 90)),
                 spec={"refreshInterval": "1h",
                       "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
                       "target": {"name": name, "creationPolicy": "Owner"},
                       "data": [{"secretKey": "RISK_DB_URL" if failing else "DB_PASSWORD",
                                 "remoteRef": {"key": f"platform/{workspace}/db",
                                               "property": "url" if failing else "password"}}]},
                 status=status),
        )  # fmt: skip
    sim.add(
        "sealedsecrets.bitnami.com",
        _obj("bitnami.com/v1alpha1", "SealedSecret",
             sim.b.meta("registry-pull", ws["vision"], _days(sim, 20, 90)),
             spec={"encryptedData": {".dockerconfigjson": "AgB" + "x" * 60},
                   "template": {"metadata": {"name": "registry-pull"},
                                "type": "kubernetes.io/dockerconfigjson"}},
             status={"conditions": [{"type": "Synced", "status": "True",
                                     "lastUpdateTime": ts(sim.now - timedelta(days=3)),
                                     "lastTransitionTime": ts(sim.now - timedelta(days=3))}],
                     "observedGeneration": 1}),
    )  # fmt: skip


# ---------------------------------------------------------------------- traffic
def _traffic(sim: _Simulation, ws: dict[str, str]) -> None:
    b = sim.b
    for isvc in sim.platform["inferenceservices.serving.kserve.io"]:
        if isvc["metadata"]["name"] != scenario.CANARY_ROLLOUT.target:
            continue
        ns, name = isvc["metadata"]["namespace"], isvc["metadata"]["name"]
        split = isvc["status"]["components"]["predictor"]["traffic"]
        host = f"{name}-predictor"
        subsets = [("canary" if s.get("latestRevision") else "stable", s) for s in split]
        sim.add(
            "destinationrules.networking.istio.io",
            _obj("networking.istio.io/v1", "DestinationRule",
                 b.meta(host, ns, _days(sim, 20, 60)),
                 spec={"host": host, "subsets": [
                     {"name": n, "labels": {"serving.knative.dev/revision": s["revisionName"]}}
                     for n, s in subsets]}),
        )  # fmt: skip
        sim.add(
            "virtualservices.networking.istio.io",
            _obj("networking.istio.io/v1", "VirtualService", b.meta(name, ns, _days(sim, 20, 60)),
                 spec={"hosts": [f"{name}.hxb.example"],
                       "gateways": ["knative-serving/knative-ingress-gateway"],
                       "http": [{"name": "predict", "match": [{"uri": {"prefix": "/v2/models"}}],
                                 "route": [{"destination": {"host": host, "subset": n,
                                                            "port": {"number": 80}},
                                            "weight": int(s["percent"])}
                                           for n, s in subsets]}]}),
        )  # fmt: skip
    routes = (
        ("assistant", "Ingress", "api.assistant.hxb.example", "api-tls", CERT_DAYS_LEFT),
        ("search", "IngressRoute", "search.hxb.example", "search-tls", 200),
    )
    for workspace, kind, host, secret, days in routes:
        ns = ws[workspace]
        if _deployment(sim, ns, "api") is None:
            continue
        sim.add(
            "services",
            _obj("v1", "Service", b.meta("api", ns, _days(sim, 20, 60)),
                 spec={"selector": {"app": "api"}, "type": "ClusterIP",
                       "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}),
        )  # fmt: skip
        sim.add(
            "secrets",
            _obj("v1", "Secret", b.meta(secret, ns, _days(sim, 20, 60)),
                 type="kubernetes.io/tls",
                 # The certificate only: the demo carries no private key at all.
                 data={"tls.crt": _certificate(sim, host, sim.now + timedelta(days=days)),
                       "tls.key": ""}),
        )  # fmt: skip
        if kind == "Ingress":
            body: Obj = {
                "ingressClassName": "nginx",
                "tls": [{"hosts": [host], "secretName": secret}],
                "rules": [{"host": host, "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}],
            }  # fmt: skip
            sim.add("ingresses.networking.k8s.io",
                    _obj("networking.k8s.io/v1", "Ingress", b.meta("api", ns, _days(sim, 20, 60)),
                         spec=body))  # fmt: skip
        else:
            body = {
                "entryPoints": ["websecure"],
                "routes": [{"kind": "Rule", "match": f"Host(`{host}`) && PathPrefix(`/v1`)",
                            "services": [{"name": "api", "port": 80}]}],
                "tls": {"secretName": secret},
            }  # fmt: skip
            sim.add("ingressroutes.traefik.io",
                    _obj("traefik.io/v1alpha1", "IngressRoute",
                         b.meta("search-api", ns, _days(sim, 20, 60)), spec=body))  # fmt: skip


def _certificate(sim: _Simulation, host: str, expires: datetime) -> str:
    """A self-signed certificate for `host` valid until `expires`, base64 PEM. Its Ed25519
    key comes from the simulation's random stream (signatures are deterministic), so the same
    arguments give the same certificate; the key is thrown away."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.x509.oid import NameOID

    key = Ed25519PrivateKey.from_private_bytes(sim.b.rng.randbytes(32))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(sim.b.rng.getrandbits(120) + 1)
        .not_valid_before(expires - timedelta(days=90))
        .not_valid_after(expires)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, None)
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()
