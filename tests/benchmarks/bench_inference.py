"""`wb.inference.deployments()`: on the demo (goal < 1 s), and on 1,200 serving objects in
a real kube-apiserver against its peers.

Demo peer: what a user writes without HXB Lab on the same snapshot files, ``json`` plus
``pandas.json_normalize``. Live peers, measured in the same run on the same server:
``kubectl get inferenceservices,models -A -o json`` parsed into the same frame (goal:
ours within 1.5x), and the `kubernetes` client's ``CustomObjectsApi`` (two
``list_cluster_custom_object`` calls) parsed into the same frame.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result, median_time

NAMESPACES = 20
COPIES = 100  # of each of the scenario's 12 serving objects: 1,200 in all
REPEAT = 5


def _demo() -> Iterator[Result]:
    import pandas as pd

    from hxb_lab import demo
    from hxb_lab.config import load_profile
    from hxb_lab.workbench import Workbench

    home = tempfile.mkdtemp(prefix="hxb-bench-inference-")
    os.environ["HXB_LAB_HOME"] = home
    demo.seed("small")
    profile = load_profile("demo")
    snapshot = Path(profile.kube.snapshot or "") / "demo"

    def ours() -> None:
        with Workbench(profile) as wb:
            assert len(wb.inference.deployments()) == 12

    def peer() -> None:
        frames = []
        for name in ("inferenceservices.serving.kserve.io.json", "models.mlops.seldon.io.json"):
            items = json.loads((snapshot / name).read_text())["items"]
            frames.append(pd.json_normalize(items))
        assert sum(len(f) for f in frames) == 12

    yield Result(
        "inference.deployments() demo (12)",
        median_time(ours, REPEAT),
        median_time(peer, REPEAT),
        "json + pandas.json_normalize",
        goal="< 1 s",
    )


def _fill(context: Any) -> int:
    """Create COPIES copies of the scenario's serving objects, statuses included."""
    from hxb_lab.cluster._resources import resource
    from hxb_lab.demo.cluster.simulate import simulate

    platform = simulate("small", 7)
    jobs = []
    for ns in range(NAMESPACES):
        namespace = f"bench-serving-{ns}"
        context.json("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    for plural in ("inferenceservices.serving.kserve.io", "models.mlops.seldon.io"):
        res = resource(plural)
        for obj in platform[plural]:
            for i in range(COPIES):
                body = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
                name = f"{obj['metadata']['name']}-{i}"
                namespace = f"bench-serving-{i % NAMESPACES}"
                body["metadata"] = {
                    "name": name,
                    "namespace": namespace,
                    "labels": obj["metadata"].get("labels", {}),
                }
                jobs.append((res, namespace, name, body, obj["status"]))

    def create(job: tuple[Any, str, str, dict[str, Any], dict[str, Any]]) -> None:
        res, namespace, name, body, status = job
        context.json("POST", res.path(namespace), body=body)
        context.json(
            "PATCH",
            res.path(namespace, name) + "/status",
            body={"status": status},
            content_type="application/merge-patch+json",
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, jobs))
    return len(jobs)


def _frame(kserve: list[dict[str, Any]], seldon: list[dict[str, Any]]) -> Any:
    """The deployments frame of raw lists, as a peer would build it (same parsing)."""
    from hxb_lab import frames as _frame
    from hxb_lab.inference.deployments import DEPLOYMENT_COLUMNS, deployment_row

    rows = []
    for kind, items in (("kserve", kserve), ("seldon", seldon)):
        for item in items:
            row = deployment_row(kind, item)
            row.update(cluster="admin", workspace=None, previous_model_version=None)
            rows.append(tuple(row[c] for c, _ in DEPLOYMENT_COLUMNS))
    return _frame.build(DEPLOYMENT_COLUMNS, rows)


def _live() -> Iterator[Result]:
    import kubernetes

    from hxb_lab.clients.kube import open_kube
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.workbench import Workbench
    from tests.support.controlplane import ControlPlane

    with ControlPlane() as plane:
        plane.install_crds()
        profile = Profile(
            name="bench",
            kube=KubeConfig(kubeconfig=str(plane.kubeconfig_path), contexts=("admin",)),
        )
        clients = open_kube(profile)
        try:
            total = _fill(clients.contexts[0])
        finally:
            clients.close()

        def ours() -> None:
            with Workbench(profile) as wb:
                assert len(wb.inference.deployments()) == total

        kubectl = [
            str(plane.kubectl_path),
            f"--kubeconfig={plane.kubeconfig_path}",
            "get",
            "inferenceservices.serving.kserve.io,models.mlops.seldon.io",
            "-A",
            "-o",
            "json",
        ]

        def peer_kubectl() -> None:
            out = subprocess.run(kubectl, check=True, capture_output=True).stdout
            items = json.loads(out)["items"]
            kserve = [i for i in items if i["kind"] == "InferenceService"]
            seldon = [i for i in items if i["kind"] == "Model"]
            assert len(_frame(kserve, seldon)) == total

        def peer_client() -> None:
            api = kubernetes.client.CustomObjectsApi(
                kubernetes.config.new_client_from_config(
                    config_file=str(plane.kubeconfig_path), context="admin"
                )
            )
            kserve = api.list_cluster_custom_object(
                "serving.kserve.io", "v1beta1", "inferenceservices"
            )["items"]
            seldon = api.list_cluster_custom_object("mlops.seldon.io", "v1alpha1", "models")[
                "items"
            ]
            assert len(_frame(kserve, seldon)) == total
            api.api_client.close()

        mine = median_time(ours, REPEAT)
        name = f"inference.deployments() live ({total})"
        yield Result(
            name, mine, median_time(peer_kubectl, REPEAT), "kubectl get -o json + frame",
            goal="<= 1.5x kubectl",
        )  # fmt: skip
        yield Result(name, mine, median_time(peer_client, REPEAT), "CustomObjectsApi + frame")


def run() -> Iterator[Result]:
    previous = os.environ.get("HXB_LAB_HOME")
    try:
        yield from _demo()
    finally:
        if previous is None:
            os.environ.pop("HXB_LAB_HOME", None)
        else:
            os.environ["HXB_LAB_HOME"] = previous
    yield from _live()
