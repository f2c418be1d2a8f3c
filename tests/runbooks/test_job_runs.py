"""Runs submitted as Jobs show from the Job and pod status, before or without an MLflow record.

The Jobs are created by `submit` in the real test API server; their pods and the status a
kubelet and the Job controller would write go through the same API server (the pods'
``status`` and the Jobs' ``status`` subresources). MLflow is the profile's real store.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import mlflow
import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile
from hxb_lab.errors import NotFoundError, RunbookError
from hxb_lab.runbooks import _manifests as M
from hxb_lab.runbooks._jobs import pod_log
from hxb_lab.server._runs import list_runs
from tests.runbooks.conftest import BIN, FIXTURES, free_port
from tests.runbooks.pod import pod_of_job
from tests.support.controlplane import ControlPlane

IMAGE = "registry.example/hxb-lab-runbooks:missing"
NOW = "2026-01-01T00:00:00Z"


def _profile(profiles_file: Path, plane: ControlPlane, namespace: str) -> str:
    plane.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "hxb-runbook-runner", "namespace": namespace}}
    )  # fmt: skip
    profiles_file.write_text(
        "[profiles.k8s]\n"
        f'kube = {{ kubeconfig = "{plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'runbooks = {{ namespace = "{namespace}", directories = ["{FIXTURES}"], image = "{IMAGE}" }}\n'
    )
    return "k8s"


def _pod(plane: ControlPlane, job: dict[str, Any], status: dict[str, Any]) -> str:
    """Create the Job's pod as the Job controller would, then write its status as a kubelet."""
    pod = pod_of_job(job)
    pod["metadata"]["name"] = job["metadata"]["name"] + "-x1"
    plane.request(
        "POST", f"/api/v1/namespaces/{job['metadata']['namespace']}/pods",
        {"apiVersion": "v1", "kind": "Pod", **pod},
    )  # fmt: skip
    path = f"/api/v1/namespaces/{job['metadata']['namespace']}/pods/{pod['metadata']['name']}"
    plane.request("PATCH", path + "/status", {"status": status},
                  content_type="application/merge-patch+json")  # fmt: skip
    return str(pod["metadata"]["name"])


def _job_status(plane: ControlPlane, job: dict[str, Any], status: dict[str, Any]) -> None:
    path = (
        f"/apis/batch/v1/namespaces/{job['metadata']['namespace']}/jobs/{job['metadata']['name']}"
    )
    plane.request("PATCH", path + "/status", {"status": status},
                  content_type="application/merge-patch+json")  # fmt: skip


def _submit(plane: ControlPlane, profile: str, **options: Any) -> dict[str, Any]:
    rb = hx.runbooks.get("succeeds", profile)
    submission = rb.submit({"service": "checkout"}, profile, **options)
    path = f"/apis/batch/v1/namespaces/{submission.namespace}/jobs/{submission.name}"
    job: dict[str, Any] = plane.request("GET", path)
    return job


def _record_running(profile: str, job: dict[str, Any]) -> None:
    """The MLflow record a pod writes as it starts the notebook (then it was killed)."""
    store = load_profile(profile).mlflow_or_default().tracking_uri
    client = mlflow.MlflowClient(store)
    experiment = client.get_experiment_by_name("runbooks/succeeds") or client.get_experiment(
        client.create_experiment("runbooks/succeeds")
    )
    tags = {"hxb_lab.run_id": job["metadata"]["labels"][M.LABEL_RUN_ID],
            "hxb_lab.runbook": "succeeds", "hxb_lab.status": "running",
            "hxb_lab.executor": "kubernetes", "hxb_lab.profile": profile,
            "hxb_lab.kubernetes_job": job["metadata"]["name"]}  # fmt: skip
    client.create_run(experiment.experiment_id, tags=tags)


@pytest.mark.kube
def test_runs_shows_what_happened_to_jobs_that_never_recorded(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    profile = _profile(profiles_file, control_plane, kube_namespace)
    plane = control_plane

    unschedulable = _submit(plane, profile)
    _pod(plane, unschedulable, {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "lastTransitionTime": NOW,
         "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]})  # fmt: skip

    no_image = _submit(plane, profile)
    _pod(plane, no_image, {"phase": "Pending", "containerStatuses": [
        {"name": "runbook", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0,
         "state": {"waiting": {"reason": "ErrImageNeverPull", "message":
             f'Container image "{IMAGE}" is not present with pull policy of Never'}}}]})  # fmt: skip

    oom = _submit(plane, profile)
    _record_running(profile, oom)  # it started the notebook, then the kernel ate 4Gi
    _pod(plane, oom, {"phase": "Failed", "containerStatuses": [
        {"name": "runbook", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                  "startedAt": NOW, "finishedAt": NOW}}}]})  # fmt: skip
    _job_status(plane, oom, {"startTime": NOW, "failed": 1, "conditions": [
        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit", "lastTransitionTime": NOW},
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit", "lastTransitionTime": NOW}]})  # fmt: skip

    late = _submit(plane, profile, timeout=600)
    _job_status(plane, late, {"startTime": NOW, "conditions": [
        {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded",
         "message": "Job was active longer than specified deadline", "lastTransitionTime": NOW},
        {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
         "message": "Job was active longer than specified deadline", "lastTransitionTime": NOW}]})  # fmt: skip

    deleted = _submit(plane, profile)
    _record_running(profile, deleted)
    plane.request("DELETE", f"/apis/batch/v1/namespaces/{kube_namespace}/jobs/"
                            f"{deleted['metadata']['name']}")  # fmt: skip

    waiting = _submit(plane, profile)  # no pod yet

    runs = hx.runbooks.runs(profile=profile).set_index("kubernetes_job")

    def row(job: dict[str, Any]) -> Any:
        return runs.loc[job["metadata"]["name"]]

    assert row(unschedulable)["status"] == "pending"
    assert row(unschedulable)["error"] == (
        "not scheduled: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    )
    assert row(no_image)["status"] == "pending"
    assert row(no_image)["error"].startswith(
        f"image {IMAGE} is not present on the node (ErrImageNeverPull)"
    )
    assert row(oom)["status"] == "failed" and row(oom)["mlflow_run_id"]  # the record, corrected
    assert (
        "OOM-killed (exit 137)" in row(oom)["error"] and "memory limit of 4Gi" in row(oom)["error"]
    )
    assert row(late)["status"] == "timed_out"
    assert row(late)["error"] == (
        f"deadline exceeded: job/{late['metadata']['name']} ran past its activeDeadlineSeconds (600 s)"
    )
    assert row(deleted)["status"] == "cancelled"
    assert row(deleted)["error"] == f"job/{deleted['metadata']['name']} was deleted"
    assert row(waiting)["status"] == "submitted" and row(waiting)["error"] is None
    assert all(runs["runbook"] == "succeeds") and all(runs["executor"] == "kubernetes")
    assert row(waiting)["run_id"] == waiting["metadata"]["labels"][M.LABEL_RUN_ID]
    assert row(waiting)["parameters"] == {"service": "checkout"}

    pending = hx.runbooks.runs(status="pending", profile=profile)
    assert len(pending) == 2
    assert list(hx.runbooks.runs(status="failed", profile=profile)["kubernetes_job"]) == [
        oom["metadata"]["name"]
    ]

    # The sidebar's list (the server's runs route) shows them with their reason too.
    sidebar = list_runs([], load_profile(profile), None, "pending", 100)
    assert {r["kubernetes_job"]: r["error"] for r in sidebar["runs"]} == {
        unschedulable["metadata"]["name"]: row(unschedulable)["error"],
        no_image["metadata"]["name"]: row(no_image)["error"],
    }

    # The command line shows the same, one row each, with the reason.
    listed = subprocess.run(
        [BIN / "hxb-lab", "runbook", "runs", "--profile", profile, "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    by_job = {r["kubernetes_job"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert by_job[unschedulable["metadata"]["name"]]["error"].startswith("not scheduled: 0/3")
    assert by_job[oom["metadata"]["name"]]["status"] == "failed"

    # Logs: a pod that has not started has none yet, and says why, in one line.
    with pytest.raises(RunbookError) as caught:
        pod_log(load_profile(profile), unschedulable["metadata"]["labels"][M.LABEL_RUN_ID])
    assert str(caught.value).startswith(
        f"run {unschedulable['metadata']['labels'][M.LABEL_RUN_ID]!r} has no log yet: pod "
        f"{unschedulable['metadata']['name']}-x1 is pending (not scheduled: 0/3 nodes are "
        "available: 3 Insufficient nvidia.com/gpu.)"
    )
    logs = subprocess.run(
        [BIN / "hxb-lab", "runbook", "logs", waiting["metadata"]["name"], "--profile", profile],
        capture_output=True, text=True,
    )  # fmt: skip
    assert logs.returncode == 2
    assert logs.stderr.startswith(
        f"hxb-lab: error: run {waiting['metadata']['name']!r} has no log yet: "
        f"job/{waiting['metadata']['name']} has no pod yet"
    )
    with pytest.raises(NotFoundError, match="no runbook Job for run 'nope'"):
        pod_log(load_profile(profile), "nope")


def test_a_cluster_that_does_not_answer_leaves_the_history_and_says_so(
    profiles_file: Path, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{free_port()}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    profiles_file.write_text(
        f'[profiles.down]\nkube = {{ kubeconfig = "{kubeconfig}", contexts = ["x"], '
        "request_timeout_s = 2 }\n"
    )
    done = subprocess.run(
        [BIN / "hxb-lab", "runbook", "runs", "--profile", "down", "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "hxb-lab: warning: runs: the runbook Jobs of namespace 'hxb-runbooks' are left out: "
        "cannot reach the Kubernetes API server"
    )
    assert done.stdout == ""  # no run recorded, none invented
