"""Runbooks on Kubernetes: Job and CronJob objects in the real test API server.

The API server has no kubelet, so pods never start: the tests create the objects (the API
server validates them), read them back, and run the pod's own command with the pod's
environment here (`tests.runbooks.pod`), so the in-cluster path runs end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile
from hxb_lab.errors import ForbiddenError, NotFoundError, ParameterError, RunbookError
from hxb_lab.runbooks import _manifests as M
from tests.runbooks.conftest import FIXTURES, MlflowServer, S3Server, fixture
from tests.runbooks.pod import pod_of_job, run_pod
from tests.support.controlplane import ControlPlane

SCHEDULE_COLUMNS = [
    "name", "runbook", "cron", "suspended", "parameters", "last_schedule", "created", "namespace",
]  # fmt: skip
IMAGE = "registry.example/hxb-lab-runbooks:test"


def _write_profile(
    profiles_file: Path,
    plane: ControlPlane,
    namespace: str,
    *,
    context: str = "admin",
    mlflow: MlflowServer | None = None,
    s3: S3Server | None = None,
    prefix: str = "k8s",
    account: bool = True,
) -> str:
    if account:  # the service account runbook pods run as (`hxb-lab runbook rbac` makes it)
        plane.apply(
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "hxb-runbook-runner", "namespace": namespace}}
        )  # fmt: skip
    lines = [
        "[profiles.k8s]",
        f'kube = {{ kubeconfig = "{plane.kubeconfig_path}", contexts = ["{context}"] }}',
        f'runbooks = {{ namespace = "{namespace}", directories = ["{FIXTURES}"], image = "{IMAGE}" }}',
    ]
    if mlflow is not None:
        lines.append(f'mlflow = {{ tracking_uri = "{mlflow.url}" }}')
    if s3 is not None:
        lines.append(
            f'artifacts = {{ uri = "s3://{s3.bucket}/{prefix}", endpoint_url = "{s3.endpoint}", '
            'access_key = { env = "HXB_TEST_S3_ACCESS" }, secret_key = { env = "HXB_TEST_S3_SECRET" } }'
        )
    profiles_file.write_text("\n".join(lines) + "\n")
    return "k8s"


def _credentials(plane: ControlPlane, namespace: str, s3: S3Server) -> None:
    """What an admin creates once: the Secret behind the profile's { env = ... } references."""
    plane.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": M.CREDENTIALS_SECRET, "namespace": namespace},
         "stringData": {"HXB_TEST_S3_ACCESS": s3.access_key, "HXB_TEST_S3_SECRET": s3.secret_key}}
    )  # fmt: skip


def _get(plane: ControlPlane, path: str) -> Any:
    return plane.request("GET", path)


# ------------------------------------------------------------------ no API server needed


def test_names_are_dns_safe_and_at_most_52_characters() -> None:
    assert M.dns_name("rb-Platform_Smoke.check") == "rb-platform-smoke-check"
    long = M.dns_name("rb-" + "very-long-runbook-name-" * 4 + "x")
    assert len(long) <= 52 and long[-6] == "-" and long[0].isalnum() and long[-1].isalnum()
    assert long != M.dns_name("rb-" + "very-long-runbook-name-" * 4 + "y")  # stays distinct
    assert M.dns_name("__") == "runbook"


def test_a_notebook_over_900_kib_is_refused(tmp_path: Path) -> None:
    data = json.loads(fixture("succeeds").read_text())
    data["cells"].append(
        {"cell_type": "markdown", "metadata": {}, "source": "x" * (950 * 1024), "id": "big"}
    )
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps(data))
    rb = hx.runbooks.get(str(path))
    with pytest.raises(RunbookError) as caught:
        M.job(rb, load_profile(), {"service": "x"}, name="rb-huge", run_id="r")
    assert "runbook 'huge' is 9" in str(caught.value) and "at most 900 KiB" in str(caught.value)


def test_outputs_do_not_count_towards_the_configmap(tmp_path: Path) -> None:
    data = json.loads(fixture("succeeds").read_text())
    data["cells"][2]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "y" * 2_000_000}
    ]
    path = tmp_path / "chatty.ipynb"
    path.write_text(json.dumps(data))
    text = M.notebook_text(hx.runbooks.get(str(path)))
    assert len(text) < 20_000 and '"outputs": []' in text


def test_the_profile_travels_without_secrets_and_loads_back(
    profiles_file: Path, tmp_path: Path
) -> None:
    profiles_file.write_text(
        '[profiles.prod]\nkube = { kubeconfig = "/home/me/.kube/config", contexts = ["eu-1"] }\n'
        'mlflow = { tracking_uri = "https://mlflow.example", token = { env = "MLFLOW_TOKEN" } }\n'
        'artifacts = { uri = "s3://runs/reports", endpoint_url = "https://minio.example", '
        'access_key = { env = "AWS_ACCESS_KEY_ID" }, secret_key = { env = "AWS_SECRET_ACCESS_KEY" } }\n'
        'runbooks = { namespace = "ops", service_account = "runner" }\n'
    )
    profile = load_profile("prod")
    text = M.profile_toml(profile)
    assert "kubeconfig" not in text and "eu-1" not in text  # the pod uses its service account
    copy = tmp_path / "pod-profiles.toml"
    copy.write_text(text)
    profiles_file.unlink()
    import os

    os.environ["HXB_LAB_CONFIG"] = str(copy)
    try:
        loaded = load_profile("prod")
    finally:
        del os.environ["HXB_LAB_CONFIG"]
    assert loaded.mlflow == profile.mlflow and loaded.artifacts == profile.artifacts
    assert loaded.runbooks == profile.runbooks


def test_a_bad_cron_is_refused_before_anything_is_sent(profiles_file: Path) -> None:
    profiles_file.write_text('[profiles.nowhere]\nkube = { kubeconfig = "/nonexistent" }\n')
    rb = hx.runbooks.get(str(fixture("succeeds")))
    with pytest.raises(ParameterError, match="minute: 60 is outside 0-59"):
        rb.schedule("60 * * * *", {"service": "x"}, profile="nowhere")
    with pytest.raises(ParameterError, match="service: required"):
        rb.submit({}, profile="nowhere")


# ------------------------------------------------------------------ with the API server


def test_submit_creates_a_job_whose_pod_runs_and_records_the_runbook(
    control_plane: ControlPlane,
    kube_namespace: str,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    profiles_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = _write_profile(profiles_file, control_plane, kube_namespace, mlflow=mlflow_server,
                             s3=s3_server, prefix=tmp_path.name)  # fmt: skip
    _credentials(control_plane, kube_namespace, s3_server)
    rb = hx.runbooks.get("succeeds", profile)
    submission = rb.submit({"service": "k8s", "threshold_ms": 99}, profile)
    assert str(submission).startswith(f"job/{submission.name} in namespace {kube_namespace}")
    assert len(submission.name) <= 52

    ns = kube_namespace
    job = _get(control_plane, f"/apis/batch/v1/namespaces/{ns}/jobs/{submission.name}")
    annotations = job["metadata"]["annotations"]
    assert json.loads(annotations[M.ANNOTATION_PARAMETERS]) == {
        "service": "k8s",
        "threshold_ms": 99.0,
    }
    assert job["metadata"]["labels"][M.LABEL_RUNBOOK] == "succeeds"
    assert job["spec"]["backoffLimit"] == 0
    # The API server labels the pods with the Job's name: the pod reads it as HXB_LAB_K8S_JOB.
    assert job["spec"]["template"]["metadata"]["labels"][M.JOB_NAME_LABEL] == submission.name
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == "hxb-runbook-runner"
    (container,) = pod_spec["containers"]
    assert container["image"] == IMAGE
    notebook_path = f"{M.NOTEBOOK_DIR}/succeeds.ipynb"
    assert container["command"] == [
        "hxb-lab",
        "runbook",
        "exec",
        "succeeds",
        "--notebook",
        notebook_path,
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["HXB_LAB_RUN_ID"]["value"] == submission.run_id
    assert env["HXB_LAB_PARAMETERS"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        f"metadata.annotations['{M.ANNOTATION_PARAMETERS}']"
    )
    # The notebook travels as a ConfigMap that belongs to the Job.
    cm = _get(control_plane, f"/api/v1/namespaces/{ns}/configmaps/{submission.name}-notebook")
    shipped = json.loads(cm["data"]["succeeds.ipynb"])
    assert [c["source"] for c in shipped["cells"]] == [c["source"] for c in rb.notebook["cells"]]
    (owner,) = cm["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("Job", job["metadata"]["uid"])

    # The pod, run here as the kubelet would run it.
    done = run_pod(control_plane, pod_of_job(job), tmp_path / "pod")
    assert done.returncode == 0, done.stdout + done.stderr
    history = hx.runbooks.runs("succeeds", profile=profile)
    row = history.set_index("run_id").loc[submission.run_id]
    assert row["status"] == "succeeded"
    assert row["executor"] == "kubernetes" and row["kubernetes_job"] == submission.name
    assert row["parameters"]["service"] == "k8s" and row["parameters"]["threshold_ms"] == 99.0
    assert row["report_uri"].startswith(f"s3://{s3_server.bucket}/{tmp_path.name}/")


def test_a_secret_parameter_travels_in_a_secret_not_in_the_annotation(
    control_plane: ControlPlane,
    kube_namespace: str,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    profiles_file: Path,
    tmp_path: Path,
) -> None:
    profile = _write_profile(profiles_file, control_plane, kube_namespace, mlflow=mlflow_server,
                             s3=s3_server, prefix=tmp_path.name)  # fmt: skip
    _credentials(control_plane, kube_namespace, s3_server)
    token = "tok-in-cluster-7e1d"
    submission = hx.runbooks.get("secret_parameter", profile).submit({"token": token}, profile)
    assert submission.parameters == {"token": "***"}
    ns = kube_namespace
    job = _get(control_plane, f"/apis/batch/v1/namespaces/{ns}/jobs/{submission.name}")
    assert token not in json.dumps(job)
    secret = _get(control_plane, f"/api/v1/namespaces/{ns}/secrets/{submission.name}-secrets")
    assert set(secret["data"]) == {"token"}
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (
        env["HXB_LAB_SECRET_TOKEN"]["valueFrom"]["secretKeyRef"]["name"]
        == f"{submission.name}-secrets"
    )

    done = run_pod(control_plane, pod_of_job(job), tmp_path / "pod")
    assert done.returncode == 1  # the runbook fails on purpose, quoting the token
    assert token not in done.stdout + done.stderr
    row = (
        hx.runbooks.runs("secret_parameter", profile=profile)
        .set_index("run_id")
        .loc[submission.run_id]
    )
    assert row["metrics"] == {"token_length": float(len(token))}  # the kernel got the value
    assert row["parameters"] == {"user": "ops", "token": "***"}
    assert token not in row["error"]


def test_schedule_suspend_resume_and_delete_a_cronjob(
    control_plane: ControlPlane,
    kube_namespace: str,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    profiles_file: Path,
    tmp_path: Path,
) -> None:
    profile = _write_profile(profiles_file, control_plane, kube_namespace, mlflow=mlflow_server,
                             s3=s3_server, prefix=tmp_path.name)  # fmt: skip
    _credentials(control_plane, kube_namespace, s3_server)
    rb = hx.runbooks.get("platform-smoke", profile)
    created = rb.schedule("*/30 * * * *", {"depth": "quick"}, profile=profile)
    assert created.name == "rb-platform-smoke" and not created.suspended
    ns = kube_namespace
    path = f"/apis/batch/v1/namespaces/{ns}/cronjobs/rb-platform-smoke"
    cron = _get(control_plane, path)
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["hxb-lab", "runbook", "exec", "platform-smoke"]  # in the image
    assert "HXB_LAB_RUN_ID" not in {e["name"] for e in container["env"]}  # each run makes its own

    frame = hx.runbooks.schedules(profile)
    assert list(frame.columns) == SCHEDULE_COLUMNS
    assert str(frame["created"].dtype) == "datetime64[ns, UTC]"
    row = frame.iloc[0]
    assert (row["name"], row["runbook"], row["cron"], row["suspended"]) == (
        "rb-platform-smoke", "platform-smoke", "*/30 * * * *", False,
    )  # fmt: skip
    assert row["parameters"] == {"depth": "quick"}

    assert hx.runbooks.suspend("rb-platform-smoke", profile).suspended is True
    assert _get(control_plane, path)["spec"]["suspend"] is True
    assert hx.runbooks.resume("rb-platform-smoke", profile).suspended is False
    again = rb.schedule("0 6 * * *", {"note": "nightly"}, profile=profile)  # same name: updated
    assert again.cron == "0 6 * * *" and again.parameters == {"note": "nightly"}

    # A Job as the CronJob controller would make it, and its pod run here.
    template = _get(control_plane, path)["spec"]["jobTemplate"]
    job_name = "rb-platform-smoke-29000000"
    job = control_plane.request(
        "POST", f"/apis/batch/v1/namespaces/{ns}/jobs",
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": job_name, "namespace": ns, **template["metadata"]},
         "spec": template["spec"]},
    )  # fmt: skip
    done = run_pod(control_plane, pod_of_job(job), tmp_path / "pod")
    assert done.returncode == 0, done.stdout + done.stderr
    history = hx.runbooks.runs("platform-smoke", profile=profile)
    (row,) = [r for _, r in history.iterrows() if r["kubernetes_job"] == job_name]
    assert row["parameters"] == {"depth": "quick", "fail_on_warning": False, "note": "nightly"}
    assert row["metrics"] == {"checks_passed": 1.0}
    assert row["executor"] == "kubernetes" and row["run_id"]  # the pod made its own run id

    hx.runbooks.delete("rb-platform-smoke", profile)
    assert hx.runbooks.schedules(profile).empty
    with pytest.raises(NotFoundError, match="no runbook schedule 'rb-platform-smoke'"):
        hx.runbooks.suspend("rb-platform-smoke", profile)


def test_a_user_without_rights_gets_a_clear_error(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    control_plane.grant_namespace_access(kube_namespace)  # read-only for the restricted user
    profile = _write_profile(profiles_file, control_plane, kube_namespace, context="restricted")
    rb = hx.runbooks.get("succeeds", profile)
    with pytest.raises(ForbiddenError) as caught:
        rb.submit({"service": "x"}, profile)
    assert f"may not create configmaps in namespace '{kube_namespace}'" in str(caught.value)
    assert hx.runbooks.schedules(profile).empty  # reading is allowed


def test_a_missing_namespace_says_how_to_create_it(
    control_plane: ControlPlane, profiles_file: Path
) -> None:
    profile = _write_profile(profiles_file, control_plane, "no-such-namespace", account=False)
    with pytest.raises(NotFoundError, match="namespace 'no-such-namespace' does not exist"):
        hx.runbooks.get("succeeds", profile).submit({"service": "x"}, profile)
