"""The simulator's inference deployments: KServe InferenceServices (serverless, one
revision Deployment per served version) and Seldon Models on an ``mlserver`` StatefulSet,
with the statuses KServe and Seldon write (the llm-chat canary, the image-tagger failure)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import condition, resources, ts
from hxb_lab.demo.cluster._pods import Container, PodState

if TYPE_CHECKING:
    from hxb_lab.demo.cluster.simulate import _Simulation

__all__ = ["inference_service", "seldon_model"]

Obj = dict[str, Any]


def _predictor_resources(d: scenario.ModelDeployment) -> Obj:
    if d.gpu_product == scenario.H100[0]:
        return resources("16", "128Gi", d.gpus_per_replica)
    if d.gpu_product is not None:
        return resources("4", "24Gi", d.gpus_per_replica)
    return resources("2", "4Gi")


def inference_service(sim: _Simulation, d: scenario.ModelDeployment) -> None:
    b = sim.b
    ns = sim.ns(d.workspace)
    created = b.ago(timedelta(days=20), timedelta(days=90))
    canary = d.name == scenario.CANARY_ROLLOUT.target
    failing = d.name == scenario.FAILING_DEPLOYMENT.target
    res = _predictor_resources(d)
    labels = {"hxb.io/model": d.model, "hxb.io/model-version": str(d.version)}
    predictor: Obj = {
        "minReplicas": d.replicas,
        "maxReplicas": d.replicas * 2,
        "model": {
            "modelFormat": {"name": d.model_format},
            "runtime": d.runtime,
            "storageUri": f"s3://hxb-models/{d.model}/v{d.version}",
            "resources": res,
        },
    }
    if d.gpu_product:
        predictor["nodeSelector"] = {"nvidia.com/gpu.product": d.gpu_product}
        predictor["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    if canary:
        # In KServe a canary is the spec holding the new model: the new version takes
        # canaryTrafficPercent, the previous ready revision keeps the rest.
        predictor["canaryTrafficPercent"] = round(scenario.CANARY_ROLLOUT.factor * 100)
        predictor["model"]["storageUri"] = f"s3://hxb-models/{d.model}/v{d.version + 1}"
        labels["hxb.io/model-version"] = str(d.version + 1)
    isvc: Obj = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": b.meta(
            d.name,
            ns,
            created,
            labels,
            annotations={"serving.kserve.io/deploymentMode": "Serverless"},
        ),
        "spec": {"predictor": predictor},
    }
    sim.add("inferenceservices.serving.kserve.io", isvc)
    # One Knative revision per served model version; its Deployment runs the pods.
    revisions: list[tuple[int, int, datetime | None]] = [(d.version, d.replicas, None)]
    if canary:
        rollout = b.now - scenario.CANARY_ROLLOUT.starts_before_now
        revisions = [
            (d.version, d.replicas, None),
            (d.version + 1, max(1, math.ceil(d.replicas * 0.2)), rollout),
        ]
    elif failing:
        revisions = [(d.version, d.replicas, b.now - scenario.FAILING_DEPLOYMENT.starts_before_now)]
    image = IMAGE.get(d.runtime, "kserve/sklearnserver:v0.14.0")
    for version, replicas, started in revisions:
        revision = f"{d.name}-predictor-{version:05d}"
        owner = {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Revision",
            "metadata": {"name": revision, "uid": b.uid()},
        }
        pod_labels = {
            "serving.kserve.io/inferenceservice": d.name,
            "component": "predictor",
            "serving.knative.dev/revision": revision,
            "serving.knative.dev/configuration": f"{d.name}-predictor",
            "serving.knative.dev/service": f"{d.name}-predictor",
            "hxb.io/model": d.model,
            "hxb.io/model-version": str(version),
        }
        containers = [Container("kserve-container", image, res, 8080), QUEUE_PROXY_CONTAINER]
        states = None
        if failing:
            message = (
                f"failed to load model {d.model} v{version}: SavedModel has an "
                "unsupported op 'ImageProjectiveTransformV3'"
            )
            states = [PodState("crashloop", b.rng.randint(5, 9), message) for _ in range(replicas)]
        sim.deployment(
            ns,
            f"{revision}-deployment",
            containers,
            replicas,
            labels=pod_labels,
            states=states,
            started=started,
            owner=owner,
            product=d.gpu_product,
            gpus=d.gpus_per_replica,
        )
    isvc["status"] = _isvc_status(sim, d, ns, created, canary, failing)


IMAGE = {
    "kserve-tritonserver": "nvcr.io/nvidia/tritonserver:24.08-py3",
    "kserve-xgbserver": "kserve/xgbserver:v0.14.0",
    "kserve-torchserve": "pytorch/torchserve-kfs:0.12.0-gpu",
}
QUEUE_PROXY_CONTAINER = Container(
    "queue-proxy",
    "gcr.io/knative-releases/knative.dev/serving/cmd/queue:v1.15.2",
    resources("25m", "64Mi"),
)


def _isvc_status(
    sim: _Simulation,
    d: scenario.ModelDeployment,
    ns: str,
    created: Any,
    canary: bool,
    failing: bool,
) -> Obj:
    b = sim.b
    stable = f"{d.name}-predictor-{d.version:05d}"
    host = f"{d.name}-{ns}.hxb.example"
    ok_at = b.ago(timedelta(hours=3), timedelta(days=10))
    types = (
        "IngressReady",
        "LatestDeploymentReady",
        "PredictorConfigurationReady",
        "PredictorReady",
        "PredictorRouteReady",
        "Ready",
    )
    predictor: Obj = {
        "latestCreatedRevision": stable,
        "latestReadyRevision": stable,
        "latestRolledoutRevision": stable,
        "url": f"https://{d.name}-predictor-{ns}.hxb.example",
        "traffic": [{"revisionName": stable, "percent": 100, "latestRevision": True}],
    }
    model_status: Obj = {
        "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
        "transitionStatus": "UpToDate",
        "copies": {"failedCopies": 0, "totalCopies": d.replicas},
    }
    conditions = [condition(t, True, ok_at) for t in types]
    if canary:
        new = f"{d.name}-predictor-{d.version + 1:05d}"
        percent = round(scenario.CANARY_ROLLOUT.factor * 100)
        predictor.update(
            latestCreatedRevision=new, latestReadyRevision=new, previousRolledoutRevision=stable
        )
        predictor["traffic"] = [
            {"revisionName": new, "percent": percent, "latestRevision": True, "tag": "latest"},
            {
                "revisionName": stable,
                "percent": 100 - percent,
                "latestRevision": False,
                "tag": "prev",
            },
        ]
    if failing:
        at = b.now - scenario.FAILING_DEPLOYMENT.starts_before_now
        message = (
            f'Revision "{stable}" failed with message: Container failed with: failed to '
            f"load model {d.model} v{d.version}."
        )
        predictor.pop("latestReadyRevision")
        predictor.pop("latestRolledoutRevision")
        predictor["traffic"] = []
        conditions = [
            condition(
                t,
                t in ("IngressReady", "PredictorConfigurationReady"),
                at,
                "" if t in ("IngressReady", "PredictorConfigurationReady") else "RevisionFailed",
                "" if t in ("IngressReady", "PredictorConfigurationReady") else message,
            )
            for t in types
        ]
        model_status = {
            "states": {"activeModelState": "FailedToLoad", "targetModelState": "Loaded"},
            "transitionStatus": "BlockedByFailedLoad",
            "copies": {"failedCopies": d.replicas, "totalCopies": d.replicas},
            "lastFailureInfo": {"reason": "ModelLoadFailed", "message": message, "time": ts(at)},
        }
    return {
        "url": f"https://{host}",
        "address": {"url": f"http://{d.name}.{ns}.svc.cluster.local"},
        "components": {"predictor": predictor},
        "conditions": conditions,
        "modelStatus": model_status,
        "deploymentMode": "Serverless",
        "observedGeneration": 1,
    }


def seldon_model(sim: _Simulation, d: scenario.ModelDeployment) -> None:
    b = sim.b
    ns = sim.ns(d.workspace)
    created = b.ago(timedelta(days=20), timedelta(days=90))
    labels = {"hxb.io/model": d.model, "hxb.io/model-version": str(d.version)}
    model = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": b.meta(d.name, ns, created, labels),
        "spec": {
            "storageUri": f"s3://hxb-models/{d.model}/v{d.version}",
            "requirements": [d.model_format],
            "replicas": d.replicas,
            "server": "mlserver",
            "memory": "1Gi",
        },
        "status": {
            "conditions": [
                condition("ModelReady", True, created, "ModelAvailable"),
                condition("Ready", True, created),
            ],
            "replicas": d.replicas,
            "availableReplicas": d.replicas,
            "selector": "seldon-server-name=mlserver",
            "observedGeneration": 1,
        },
    }
    sim.add("models.mlops.seldon.io", model)
    server = [
        Container("mlserver", "seldonio/mlserver:1.6.1", resources("2", "4Gi"), 9000),
        Container("agent", "seldonio/seldon-agent:2.8.4", resources("200m", "256Mi")),
    ]
    sim.statefulset(
        ns,
        "mlserver",
        server,
        d.replicas,
        labels={"seldon-server-name": "mlserver", "hxb.io/model": d.model},
    )
