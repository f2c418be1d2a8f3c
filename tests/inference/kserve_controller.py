"""A stand-in for the KServe controller, which cannot run against the test API server
(no Knative, no kubelet): after an action changed an InferenceService's spec, `reconcile`
writes what the controller would, through the real API server.

- A storage URI other than the latest revision's gets a new revision (as Knative does,
  even for a URI an older revision ran): a Deployment
  ``<name>-predictor-<NNNNN>-deployment`` labelled ``serving.knative.dev/revision`` with
  the InferenceService's ``hxb.io/model*`` labels and KServe's storage-initializer
  annotation on its pod template.
- With ``canaryTrafficPercent`` the latest revision gets that share and the previously
  rolled-out one the rest; without it the latest revision gets all traffic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"
SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"
REVISION = "serving.knative.dev/revision"
MERGE = "application/merge-patch+json"


def revision_deployment(
    namespace: str, isvc: dict[str, Any], revision: str, uri: str
) -> dict[str, Any]:
    """The Deployment Knative runs for one revision of `isvc`."""
    name = isvc["metadata"]["name"]
    labels = {
        "serving.kserve.io/inferenceservice": name,
        "component": "predictor",
        REVISION: revision,
        **{
            k: v
            for k, v in (isvc["metadata"].get("labels") or {}).items()
            if k.startswith("hxb.io/")
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{revision}-deployment", "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {REVISION: revision}},
            "template": {
                "metadata": {"labels": labels, "annotations": {SOURCE_URI: uri}},
                "spec": {
                    "containers": [{"name": "kserve-container", "image": "kserve/server:v0.14.0"}]
                },
            },
        },
    }


def reconcile(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    """Bring the status of InferenceService `namespace/name` in line with its spec."""
    isvc = plane.request("GET", f"{ISVC.format(ns=namespace)}/{name}")
    predictor = isvc["spec"]["predictor"]
    uri = predictor["model"]["storageUri"]
    selector = f"serving.kserve.io/inferenceservice={name}"
    existing = plane.request(
        "GET", DEPLOYMENTS.format(ns=namespace), params={"labelSelector": selector}
    )["items"]
    source = {
        d["metadata"]["labels"][REVISION]: d["spec"]["template"]["metadata"]
        .get("annotations", {})
        .get(SOURCE_URI)
        for d in existing
    }
    status = isvc.get("status") or {}
    current = (status.get("components") or {}).get("predictor") or {}
    latest = current.get("latestCreatedRevision")
    if latest is None or source.get(latest) != uri:  # a new template: a new revision
        numbers = [int(revision.rsplit("-", 1)[1]) for revision in source]
        latest = f"{name}-predictor-{max(numbers, default=0) + 1:05d}"
        deployment = revision_deployment(namespace, isvc, latest, uri)
        plane.request("POST", DEPLOYMENTS.format(ns=namespace), deployment)
    rolled_out = current.get("latestRolledoutRevision") or latest
    percent = predictor.get("canaryTrafficPercent")
    component: dict[str, Any] = {
        "latestCreatedRevision": latest,
        "latestReadyRevision": latest,
        "url": current.get("url"),
    }
    if percent is not None and latest != rolled_out:
        component["traffic"] = [
            {"revisionName": latest, "percent": percent, "latestRevision": True, "tag": "latest"},
            {
                "revisionName": rolled_out,
                "percent": 100 - percent,
                "latestRevision": False,
                "tag": "prev",
            },
        ]
        component["latestRolledoutRevision"] = rolled_out
        component["previousRolledoutRevision"] = rolled_out
    else:
        component["traffic"] = [{"revisionName": latest, "percent": 100, "latestRevision": True}]
        component["latestRolledoutRevision"] = latest
        component["previousRolledoutRevision"] = (
            rolled_out if rolled_out != latest else current.get("previousRolledoutRevision")
        )
    body = {"status": {"components": {"predictor": component}}}
    return plane.request(  # type: ignore[no-any-return]
        "PATCH", f"{ISVC.format(ns=namespace)}/{name}/status", body, content_type=MERGE
    )
