"""An alert whose run goes to a Kubernetes Job: the Job carries the alert (annotation
``hxb.io/trigger``, read by its pod through the downward API), ``runs()`` shows it before
the pod recorded anything, and the pod's ``runbook exec`` records it with the run.

The Job is created by the receiver in the real test API server; the pod's entry point
runs here, with the environment the pod would get; MLflow is the session's real server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile
from hxb_lab.runbooks._exec import exec_in_pod
from hxb_lab.runbooks._trigger import headline
from hxb_lab.triggers import Receiver, RunPool
from tests.support.controlplane import ControlPlane
from tests.support.mlflow_server import MlflowServer
from tests.triggers.conftest import FIXTURES, profile_text, webhook

DOWN = {"alertname": "ServiceDown", "service": "checkout", "replicas": "3"}


@pytest.fixture
def cluster_profile(
    profiles_file: Path,
    token: str,
    control_plane: ControlPlane,
    kube_namespace: str,
    mlflow_server: MlflowServer,
    tmp_path: Path,
) -> str:
    """The profile ``alerts`` with a cluster: its alerts' runs go to Jobs in a namespace."""
    control_plane.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "hxb-runbook-runner", "namespace": kube_namespace}}
    )  # fmt: skip
    text = profile_text().replace(
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n',
        f'runbooks = {{ directories = ["{FIXTURES}"], namespace = "{kube_namespace}", '
        'image = "registry.example/hxb-lab-runbooks:test" }\n'
        f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'mlflow = {{ tracking_uri = "{mlflow_server.url}" }}\n'
        f'artifacts = {{ uri = "{(tmp_path / "artifacts").as_uri()}" }}\n',
    )
    profiles_file.write_text(text)
    return "alerts"


def _job(plane: ControlPlane, namespace: str, run_id: str) -> dict[str, Any]:
    jobs = plane.request(
        "GET", f"/apis/batch/v1/namespaces/{namespace}/jobs?labelSelector=hxb.io/run-id={run_id}"
    )["items"]
    assert len(jobs) == 1, jobs
    return dict(jobs[0])


def _row(run_id: str) -> Any:
    frame = hx.runbooks.runs("checks", profile="alerts")
    return frame[frame["run_id"] == run_id].iloc[0]


def test_an_alerts_job_carries_the_alert_and_its_pod_records_it(
    cluster_profile: str, control_plane: ControlPlane, kube_namespace: str, token: str
) -> None:
    pool = RunPool(load_profile())
    try:
        answer = Receiver(load_profile(), pool).receive(
            webhook({"labels": DOWN, "fingerprint": "abc123"}), f"Bearer {token}"
        )
    finally:
        pool.close()
    (run,) = answer["runs"]
    job = _job(control_plane, kube_namespace, run["run_id"])
    annotation = job["metadata"]["annotations"]["hxb.io/trigger"]
    template = job["spec"]["template"]
    assert template["metadata"]["annotations"]["hxb.io/trigger"] == annotation
    trigger = json.loads(annotation)
    assert trigger["rule"] == "service-down" and trigger["group_key"] == "g1"
    assert trigger["started_by"] == "alertmanager (hxb-lab)"
    assert [(a["fingerprint"], a["labels"]) for a in trigger["alerts"]] == [("abc123", DOWN)]
    (container,) = template["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["HXB_LAB_TRIGGER"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['hxb.io/trigger']"
    )
    # Submitted, nothing recorded yet: runs() shows the alert from the Job.
    row = _row(run["run_id"])
    assert row["status"] == "submitted" and row["trigger"]["rule"] == "service-down"
    assert row["trigger"]["alerts"][0]["fingerprint"] == "abc123"

    # The pod's entry point, with the environment the Job gives it: it records the alert.
    pod_env = {
        "HXB_LAB_PROFILE": "alerts",
        "HXB_LAB_PARAMETERS": template["metadata"]["annotations"]["hxb.io/parameters"],
        "HXB_LAB_RUN_ID": run["run_id"],
        "HXB_LAB_K8S_JOB": job["metadata"]["name"],
        "HXB_LAB_TRIGGER": annotation,
    }
    ran = exec_in_pod("checks", env=pod_env)
    assert ran.ok, ran.summary()
    assert ran.directory is not None
    assert json.loads((ran.directory / "trigger.json").read_text())["alerts"][0]["labels"] == DOWN
    (audited,) = [r for r in hx.runbooks.audit(profile="alerts").itertuples() if r.run_id == ran.id]
    assert audited.started_by == "alertmanager (hxb-lab)"
    assert audited.trigger["alerts"][0]["fingerprint"] == "abc123"
    assert _row(run["run_id"])["trigger"]["group_key"] == "g1"  # from the record now


def test_a_hostile_trigger_annotation_is_kept_out(
    cluster_profile: str, control_plane: ControlPlane, kube_namespace: str
) -> None:
    """Anyone who can edit Jobs can write the annotation: runs() keeps only a trigger's
    known fields, bounded, and nothing of a value that is not one."""
    rb = hx.runbooks.get("checks", "alerts")
    odd = {"rule": "r", "alerts": [{"labels": {"alertname": "<script>\x1b[2J", "n": 5}}] * 50,
           "alert_count": "many", "extra": "x" * 100_000}  # fmt: skip
    first = rb.submit({"service": "a", "replicas": 1}, "alerts", trigger=odd)
    second = rb.submit({"service": "b", "replicas": 1}, "alerts", trigger={"rule": "r"})
    path = f"/apis/batch/v1/namespaces/{kube_namespace}/jobs/{second.name}"
    control_plane.request(
        "PATCH", path, {"metadata": {"annotations": {"hxb.io/trigger": "[" * 5000}}},
        content_type="application/merge-patch+json",
    )  # fmt: skip
    trigger = _row(first.run_id)["trigger"]
    assert set(trigger) == {"rule", "group_labels", "alerts", "alert_count"}
    assert len(trigger["alerts"]) == 20 and trigger["alert_count"] == 20
    assert trigger["alerts"][0]["labels"] == {"alertname": "<script> [2J"}  # no escapes
    # What the sidebar's run list shows of it (as text: the page escapes it).
    assert headline(trigger) == {"rule": "r", "alert": "<script> [2J", "alert_count": 20}
    assert _row(second.run_id)["trigger"] is None
