"""KServe InferenceServices (serving.kserve.io/v1beta1): what they serve and how they fare.

The predictor's model sits in ``spec.predictor.model`` (modelFormat, runtime, storageUri)
or, in the older style, under a framework key (``spec.predictor.sklearn.storageUri``).
Rollouts are Knative revisions: ``status.components.predictor`` names the latest ready
and the previous rolled-out revision and splits traffic between them during a canary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hxb_lab.inference._model_ref import ModelRef, model_ref

__all__ = ["FRAMEWORKS", "model_path", "row", "serving_selector"]

Obj = Mapping[str, Any]
#: The framework keys of a predictor before ``model`` existed; each names its format.
FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "lightgbm",
    "paddle",
    "pmml",
    "huggingface",
)
GPU = "nvidia.com/gpu"
GPU_PRODUCT = "nvidia.com/gpu.product"
#: The label KServe puts on every pod of an InferenceService.
ISVC_LABEL = "serving.kserve.io/inferenceservice"


def model_path(spec: Obj) -> tuple[str, ...]:
    """Where the predictor's model spec sits: ("predictor", "model") or a framework key."""
    predictor = spec.get("predictor") or {}
    if "model" in predictor:
        return ("predictor", "model")
    for key in FRAMEWORKS:
        if key in predictor:
            return ("predictor", key)
    return ("predictor", "model")


def _model(spec: Obj) -> tuple[str | None, Obj]:
    """(format, model spec) of the predictor."""
    path = model_path(spec)
    model = (spec.get("predictor") or {}).get(path[1]) or {}
    if path[1] == "model":
        return (model.get("modelFormat") or {}).get("name"), model
    return path[1], model


def _gpus(model: Obj, predictor: Obj) -> int:
    containers = [model, *(predictor.get("containers") or ())]
    total = 0.0
    for container in containers:
        resources = container.get("resources") or {}
        value = (resources.get("limits") or {}).get(GPU) or (resources.get("requests") or {}).get(
            GPU
        )
        total += float(value or 0)
    return int(total)


def gpu_product(pod_spec: Obj) -> str | None:
    """The GPU product a pod spec pins: its node selector, else required node affinity."""
    selector = pod_spec.get("nodeSelector") or {}
    if selector.get(GPU_PRODUCT):
        return str(selector[GPU_PRODUCT])
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    products: list[str] = []
    for term in affinity.get("nodeSelectorTerms") or ():
        for expr in term.get("matchExpressions") or ():
            if expr.get("key") == GPU_PRODUCT and expr.get("operator") == "In":
                products.extend(str(v) for v in expr.get("values") or ())
    return "|".join(dict.fromkeys(products)) or None


def _conditions(status: Obj) -> dict[str, Obj]:
    return {str(c.get("type")): c for c in status.get("conditions") or ()}


def health(status: Obj) -> tuple[bool, str | None, str | None]:
    """(ready, reason, message) from the Ready condition and the model status."""
    conditions = _conditions(status)
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    if ready:
        return True, None, None
    failed = conditions.get("Ready") or next(
        (c for c in conditions.values() if c.get("status") == "False"), {}
    )
    failure = (status.get("modelStatus") or {}).get("lastFailureInfo") or {}
    reason = (
        failed.get("reason")
        or failure.get("reason")
        or ("NoStatus" if not conditions else "NotReady")
    )
    message = failed.get("message") or failure.get("message")
    return False, str(reason), str(message) if message else None


def canary_percent(spec: Obj, predictor_status: Obj) -> int | None:
    """The share of traffic on the latest revision while a canary runs, else None."""
    traffic = predictor_status.get("traffic") or []
    if len(traffic) > 1:
        for target in traffic:
            if target.get("latestRevision"):
                return int(target.get("percent") or 0)
    percent = (spec.get("predictor") or {}).get("canaryTrafficPercent")
    return None if percent is None else int(percent)


def row(obj: Obj) -> dict[str, Any]:
    """The deployment columns of one InferenceService (cluster, workspace filled by caller)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    predictor = spec.get("predictor") or {}
    fmt, model = _model(spec)
    predictor_status = (status.get("components") or {}).get("predictor") or {}
    ready, reason, message = health(status)
    copies = (status.get("modelStatus") or {}).get("copies") or {}
    replicas = copies.get("totalCopies")
    ref: ModelRef = model_ref(model.get("storageUri"), meta.get("labels") or {})
    min_replicas = predictor.get("minReplicas")
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "kind": "kserve",
        "ready": ready,
        "reason": reason,
        "message": message,
        "url": status.get("url") or predictor_status.get("url"),
        "model_format": fmt,
        "runtime": model.get("runtime")
        or (None if predictor.get("containers") is None else "custom"),
        "storage_uri": model.get("storageUri"),
        "model_name": ref.name,
        "model_version": ref.version,
        "min_replicas": 1 if min_replicas is None else int(min_replicas),
        "max_replicas": predictor.get("maxReplicas") or None,
        "replicas": None if replicas is None else int(replicas),
        "ready_replicas": None
        if replicas is None
        else int(replicas) - int(copies.get("failedCopies") or 0),
        "gpus_per_replica": _gpus(model, predictor),
        "gpu_product": gpu_product(predictor),
        "canary_percent": canary_percent(spec, predictor_status),
        "latest_ready_revision": predictor_status.get("latestReadyRevision"),
        "previous_revision": predictor_status.get("previousRolledoutRevision"),
        "created": meta.get("creationTimestamp"),
    }


def serving_selector(obj: Obj) -> str:
    """The label selector of an InferenceService's pods."""
    return f"{ISVC_LABEL}={obj['metadata']['name']}"
