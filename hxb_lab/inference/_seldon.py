"""Seldon Core 2 Models (mlops.seldon.io/v1alpha1) on the same columns as InferenceServices.

A Model names its artifact (``spec.storageUri``), the capabilities it needs of a server
(``spec.requirements``, the first being its format) and the server that loads it; its
pods are that server's, found by ``status.selector`` (``seldon-server-name=<server>``).
Seldon has no revisions or canary of its own (that is an Experiment), so those columns
are empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hxb_lab.inference._kserve import health
from hxb_lab.inference._model_ref import model_ref

__all__ = ["row", "serving_selector"]

Obj = Mapping[str, Any]
SERVER_LABEL = "seldon-server-name"
DEFAULT_SERVER = "mlserver"


def row(obj: Obj) -> dict[str, Any]:
    """The deployment columns of one Seldon Model (cluster, workspace filled by caller)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready, reason, message = health(status)
    if not ready and status.get("conditions"):
        model_ready = next((c for c in status["conditions"] if c.get("type") == "ModelReady"), None)
        if model_ready and model_ready.get("status") != "True":
            reason = model_ready.get("reason") or reason
            message = model_ready.get("message") or message
    requirements = spec.get("requirements") or []
    ref = model_ref(spec.get("storageUri"), meta.get("labels") or {})
    desired = spec.get("replicas")
    minimum = spec.get("minReplicas", desired)
    replicas = status.get("replicas")
    available = status.get("availableReplicas")
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "kind": "seldon",
        "ready": ready,
        "reason": reason,
        "message": message,
        "url": None,
        "model_format": requirements[0] if requirements else None,
        "runtime": spec.get("server") or DEFAULT_SERVER,
        "storage_uri": spec.get("storageUri"),
        "model_name": ref.name,
        "model_version": ref.version,
        "min_replicas": 1 if minimum is None else int(minimum),
        "max_replicas": spec.get("maxReplicas") or None,
        "replicas": None if replicas is None else int(replicas),
        "ready_replicas": None if replicas is None else int(available or 0),
        "gpus_per_replica": 0,
        "gpu_product": None,
        "canary_percent": None,
        "latest_ready_revision": None,
        "previous_revision": None,
        "created": meta.get("creationTimestamp"),
    }


def serving_selector(obj: Obj) -> str:
    """The label selector of the pods of the server that loads this Model."""
    status = obj.get("status") or {}
    if status.get("selector"):
        return str(status["selector"])
    server = (obj.get("spec") or {}).get("server") or DEFAULT_SERVER
    return f"{SERVER_LABEL}={server}"
