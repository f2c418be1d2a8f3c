"""Fixtures of the inference tests: the simulated serving platform in the real API server
(and the same objects as a snapshot), a real MLflow registry, and one deployment copied
into each test's own namespace for actions to change."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hxb_lab.config import KubeConfig, MlflowConfig, Profile
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster.simulate import Platform, simulate
from hxb_lab.demo.models import model_uri
from hxb_lab.workbench import Workbench
from tests.inference.kserve_controller import SOURCE_URI
from tests.support.mlflow_server import NOW, MlflowServer

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

PREFIX = "inf-"  # the simulated platform's names in the shared API server
SERVING = ("serving.kserve.io/inferenceservice", "seldon-server-name")
SERVER_SET = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"


def serving_only(platform: Platform) -> Platform:
    """The objects of `platform` an inference read touches: nodes, workspace namespaces,
    InferenceServices, Seldon Models and the workloads and pods serving them."""
    workspaces = {
        n["metadata"]["name"]
        for n in platform["namespaces"]
        if "hxb.io/workspace" in n["metadata"].get("labels", {})
    }
    kept = Platform(platform.cluster, platform.now)
    for kind, items in platform.objects.items():
        for obj in items:
            meta = obj["metadata"]
            labels = meta.get("labels") or {}
            keep = (
                kind == "nodes"
                or (kind == "namespaces" and meta["name"] in workspaces)
                or kind in ("inferenceservices.serving.kserve.io", "models.mlops.seldon.io")
                or (
                    kind in ("deployments.apps", "replicasets.apps", "statefulsets.apps", "pods")
                    and meta.get("namespace") in workspaces
                    and any(key in labels for key in SERVING)
                )
            )
            if keep:
                kept.objects[kind].append(obj)
    return kept


@dataclass(frozen=True)
class ServingPlatform:
    platform: Platform
    snapshot: Path  # the same objects as a snapshot directory (cluster "admin")

    @property
    def namespaces(self) -> list[str]:
        return [f"{PREFIX}{ws}" for ws in scenario.WORKSPACES]


@pytest.fixture(scope="session")
def serving_platform(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> ServingPlatform:
    """The small platform's serving objects in the session's API server, statuses filled
    in by the simulator (names prefixed ``inf-``)."""
    from hxb_lab.clients.kube import open_kube

    platform = serving_only(simulate("small", 7, NOW, prefix=PREFIX))
    clients = open_kube(
        Profile(
            name="x",
            kube=KubeConfig(kubeconfig=str(control_plane.kubeconfig_path), contexts=("admin",)),
        )
    )
    try:
        platform.apply(clients.contexts[0])
    finally:
        clients.close()
    target = tmp_path_factory.mktemp("serving") / "admin"
    platform.write_snapshot(target)
    return ServingPlatform(platform, target)


def live_workbench(
    plane: ControlPlane, registry: MlflowServer | None = None, context: str = "admin"
) -> Workbench:
    kube = KubeConfig(kubeconfig=str(plane.kubeconfig_path), contexts=(context,))
    mlflow = MlflowConfig(registry.url) if registry is not None else None
    return Workbench(Profile(name="live", kube=kube, mlflow=mlflow))


def snapshot_workbench(path: Path) -> Workbench:
    return Workbench(Profile(name="snapshot", kube=KubeConfig(snapshot=str(path))))


@pytest.fixture
def live(control_plane: ControlPlane, mlflow_server: MlflowServer) -> Iterator[Workbench]:
    wb = live_workbench(control_plane, mlflow_server)
    yield wb
    wb.close()


@pytest.fixture
def demo_wb(demo_env: Path) -> Iterator[Workbench]:
    import hxb_lab as hx

    wb = hx.connect()
    yield wb
    wb.close()


@pytest.fixture(scope="session")
def scenario_platform() -> Platform:
    """The small simulated platform without prefix: the source of per-test copies."""
    return simulate("small", 7, NOW)


def _clean(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    body = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = {
        k: v for k, v in body["metadata"].items() if k not in SERVER_SET and k != "ownerReferences"
    }
    meta["namespace"] = namespace
    body["metadata"] = meta
    return body


def put_inference_service(
    plane: ControlPlane, platform: Platform, name: str, namespace: str
) -> dict[str, Any]:
    """Copy the simulated InferenceService `name`, its status and the Deployments of its
    revisions into `namespace`; returns the object as the server has it.

    As with KServe, each revision's pod template names the storage URI it downloads, and
    the spec names the latest revision's model (the version of its labels).
    """
    simulated = next(
        o for o in platform["inferenceservices.serving.kserve.io"] if o["metadata"]["name"] == name
    )
    isvc = _clean(simulated, namespace)
    labels = isvc["metadata"]["labels"]
    uri = model_uri(labels["hxb.io/model"], int(labels["hxb.io/model-version"]))
    isvc["spec"]["predictor"]["model"]["storageUri"] = uri
    path = ISVC.format(ns=namespace)
    plane.request("POST", path, isvc)
    plane.request(
        "PATCH",
        f"{path}/{name}/status",
        {"status": simulated["status"]},
        content_type="application/merge-patch+json",
    )
    for deploy in platform["deployments.apps"]:
        revision = deploy["metadata"].get("labels", {})
        if revision.get("serving.kserve.io/inferenceservice") != name:
            continue
        body = _clean(deploy, namespace)
        uri = model_uri(revision["hxb.io/model"], int(revision["hxb.io/model-version"]))
        body["spec"]["template"]["metadata"]["annotations"] = {SOURCE_URI: uri}
        plane.request("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    return get_inference_service(plane, namespace, name)


def get_inference_service(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    return plane.request("GET", f"{ISVC.format(ns=namespace)}/{name}")  # type: ignore[no-any-return]
