"""Runbooks on the test node: `submit` to the run's record, against a bare Job running
`papermill` in the same image (what ``kubectl create job`` would make), side by side.

Ours: `Runbook.submit` (objects created, RBAC'd service account, the profile ConfigMap),
the pod runs ``hxb-lab runbook exec`` (papermill, the report, the MLflow record and the
uploads to S3) until the run's record says it finished. The peer: a Job whose pod runs
``papermill`` on the same notebook (from a ConfigMap) until the Job is Complete. Both are
polled the same way. Goal: at most 1.3x the bare Job (the harness prints peer/ours, so the
goal is a ratio >= 0.77). Also the node's bring-up time, against the note's ~8 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result
from tests.benchmarks.bench_runbooks import TRIVIAL
from tests.support.mlflow_server import start_mlflow, stop

ROUNDS = 3
NAMESPACE = "bench-runbooks"
BIN = Path(sys.executable).parent
PAPERMILL = [
    "papermill",
    "--no-progress-bar",
    "/nb/trivial.ipynb",
    "/tmp/out.ipynb",
    "-p",
    "x",
    "2",
]


def _job_complete(plane: Any, name: str) -> bool:
    job = plane.request("GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{name}")
    for c in job.get("status", {}).get("conditions") or []:
        if c["status"] == "True" and c["type"] == "Failed":
            raise RuntimeError(f"job {name} failed: {c.get('message')}")
        if c["status"] == "True" and c["type"] == "Complete":
            return True
    return False


def _peer(plane: Any, image: str, round_: int) -> float:
    name = f"bare-papermill-{round_}"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "papermill",
                            "image": image,
                            "command": PAPERMILL,
                            "volumeMounts": [{"name": "nb", "mountPath": "/nb"}],
                        }
                    ],
                    "volumes": [{"name": "nb", "configMap": {"name": "bench-notebook"}}],
                }
            },
        },
    }
    started = time.perf_counter()
    plane.request("POST", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", job)
    _poll(lambda: _job_complete(plane, name))
    return time.perf_counter() - started


def _ours(runbook: Any) -> float:
    import hxb_lab as hx

    started = time.perf_counter()
    submission = runbook.submit({"x": 2})

    def recorded() -> bool:
        frame = hx.runbooks.runs(runbook.name)
        rows = frame[frame["run_id"] == submission.run_id]
        if rows.empty or rows.iloc[0]["status"] in ("submitted", "queued", "pending", "running"):
            return False  # not finished yet (from the Job's status, or MLflow's record)
        if rows.iloc[0]["status"] != "succeeded":
            raise RuntimeError(f"run {submission.run_id}: {rows.iloc[0]['error']}")
        return True

    _poll(recorded)
    return time.perf_counter() - started


def _poll(check: Any, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("no result in time")
        time.sleep(0.25)  # the same polling for both sides


def run() -> Iterator[Result]:
    from tests.runbooks.servers import start_s3, versitygw
    from tests.support.controlplane import ControlPlane
    from tests.support.images import runbook_image
    from tests.support.node import Node

    image = runbook_image()
    with tempfile.TemporaryDirectory(prefix="hxb-bench-node-") as tmp:
        root = Path(tmp)
        plane = ControlPlane(pods=True).start()
        node = None
        try:
            node = Node(plane)
            node.start()
            bring_up = node.startup_seconds or 0.0
            yield Result("test node bring-up (built parts)", bring_up, 8.0, "the note's figure",
                         goal="about the note's ~8 s")  # fmt: skip
            node.import_image(image.archive)
            node.namespace(NAMESPACE)
            rbac = subprocess.run([str(BIN / "hxb-lab"), "runbook", "rbac", "--namespace",
                                   NAMESPACE], capture_output=True, text=True, check=True).stdout  # fmt: skip
            plane.kubectl("apply", "-f", "-", stdin=rbac)
            notebook = root / "runbooks" / "trivial.ipynb"
            notebook.parent.mkdir()
            notebook.write_text(json.dumps(TRIVIAL))
            plane.apply(
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "bench-notebook", "namespace": NAMESPACE},
                 "data": {"trivial.ipynb": json.dumps(TRIVIAL)}}
            )  # fmt: skip
            s3 = start_s3(versitygw(), root / "s3")  # type: ignore[arg-type]
            mlflow = start_mlflow(root / "mlflow")
            try:
                plane.apply(
                    {"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": "hxb-lab-credentials", "namespace": NAMESPACE},
                     "stringData": {"BENCH_S3_ACCESS": s3.access_key,
                                    "BENCH_S3_SECRET": s3.secret_key}}
                )  # fmt: skip
                profiles = root / "profiles.toml"
                profiles.write_text(
                    f'[profiles.bench]\nkube = {{ kubeconfig = "{plane.kubeconfig_path}" }}\n'
                    f'mlflow = {{ tracking_uri = "{mlflow.url}" }}\n'
                    f'artifacts = {{ uri = "s3://{s3.bucket}/bench", endpoint_url = "{s3.endpoint}", '
                    'access_key = { env = "BENCH_S3_ACCESS" }, secret_key = { env = "BENCH_S3_SECRET" } }\n'
                    f'runbooks = {{ namespace = "{NAMESPACE}", directories = ["{notebook.parent}"] }}\n'
                )
                saved = dict(os.environ)
                os.environ.update(
                    HXB_LAB_CONFIG=str(profiles), HXB_LAB_PROFILE="bench",
                    HXB_LAB_HOME=str(root / "home"), BENCH_S3_ACCESS=s3.access_key,
                    BENCH_S3_SECRET=s3.secret_key,
                )  # fmt: skip
                try:
                    import hxb_lab as hx

                    runbook = hx.runbooks.get("trivial")
                    _ours(runbook), _peer(plane, image.tag, 0)  # warm: first pods, caches
                    ours, peer = [], []
                    for i in range(1, ROUNDS + 1):
                        ours.append(_ours(runbook))
                        peer.append(_peer(plane, image.tag, i))
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
            finally:
                stop(mlflow.process)
                stop(s3.process)
            yield Result("runbook submit -> recorded, test node", statistics.median(ours),
                         statistics.median(peer), "bare papermill Job",
                         goal="<= 1.3x the bare Job (ratio >= 0.77)")  # fmt: skip
        finally:
            if node is not None:
                node.stop()
            plane.stop()


if __name__ == "__main__":  # pragma: no cover
    for result in run():
        print(result.line(), file=sys.stdout, flush=True)
