"""Runbooks in pods, for real: every shipped runbook runs as a Job on the test node.

The node (`tests.support.node`) runs the runbook image built from this checkout's wheel
(`tests.support.images`, what ``hxb-lab runbook image build`` makes). The platform is the
demo's scenario: its cluster objects in the node's API server, its telemetry files mounted
read-only into the pods, the session's MLflow and S3 servers. Each Job gets the profile as
a runbook pod gets it (a ConfigMap; its credentials from the ``hxb-lab-credentials``
Secret), and records its run itself. The Jobs, a CronJob and a run with a secret parameter
are all submitted first and run side by side; the tests then read what they left.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.cli._image import default_tag
from hxb_lab.config import load_profile
from hxb_lab.runbooks import _manifests as M
from hxb_lab.runbooks._artifacts import ArtifactStore
from hxb_lab.runbooks._history import read_report
from tests.conftest import ROOT
from tests.runbooks.conftest import BIN, FIXTURES, MlflowServer, S3Server
from tests.support.images import runbook_image
from tests.support.node import Node, wait_for

# A cold run builds the runbook image and imports it into the node (minutes, once).
pytestmark = [
    pytest.mark.kube,
    pytest.mark.mlflow_server,
    pytest.mark.slow,
    pytest.mark.timeout(1800),
]

NAMESPACE = "hxb-runbooks"
SHIPPED = sorted(p.stem for p in (ROOT / "runbooks").glob("*.ipynb"))
TOKEN = "tok-in-a-pod-5c0ffee"  # the secret parameter's value, to be found nowhere
JOB_TIMEOUT = 420.0


@dataclass
class Platform:
    node: Node
    config: Path  # the profiles file (profile "node")
    env: dict[str, str]
    jobs: dict[str, Any]  # runbook name -> Submission
    secret_job: Any
    cron_job: dict[str, Any]  # the Job the CronJob made, as finished
    finished: dict[str, dict[str, Any]]  # Job name -> Job as finished
    seconds: float


def _profile(path: Path, node: Node, telemetry: Path, mlflow: MlflowServer, s3: S3Server) -> Path:
    path.write_text(
        f"""default = "node"
[profiles.node]
kube = {{ kubeconfig = "{node.plane.kubeconfig_path}", contexts = ["admin"] }}
clickhouse = {{ dsn = "parquet://{telemetry}" }}
mlflow = {{ tracking_uri = "{mlflow.url}" }}
artifacts = {{ uri = "s3://{s3.bucket}/in-pod", endpoint_url = "{s3.endpoint}", access_key = {{ env = "HXB_TEST_S3_ACCESS" }}, secret_key = {{ env = "HXB_TEST_S3_SECRET" }} }}
runbooks = {{ namespace = "{NAMESPACE}", directories = ["{FIXTURES}"] }}
"""
    )
    return path


def _seed_cluster(node: Node) -> None:
    """The demo scenario's cluster objects, in the node's API server."""
    from hxb_lab.clients.kube import open_kube
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.demo.cluster.simulate import simulate

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    profile = Profile(name="seed", kube=KubeConfig(kubeconfig=str(node.plane.kubeconfig_path)))
    platform = simulate("small", 7, now)
    # ServiceAccount admission refuses pods until the controller manager has made their
    # namespace's "default" service account: the namespaces first, then the rest.
    for namespace in platform["namespaces"]:
        meta = {k: namespace["metadata"][k] for k in ("name", "labels", "annotations")
                if k in namespace["metadata"]}  # fmt: skip
        node.plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    wait_for(lambda: _default_accounts(node), 120.0, "the namespaces' service accounts")
    platform.objects["namespaces"] = []
    # Its quotas would count the pods the Job controller makes for its Jobs (which never
    # run here) and refuse its own pods.
    platform.objects["resourcequotas"] = []
    clients = open_kube(profile)
    try:
        platform.apply(clients.contexts[0])
    finally:
        clients.close()


def _default_accounts(node: Node) -> bool:
    namespaces = node.plane.request("GET", "/api/v1/namespaces")["items"]
    accounts = node.plane.request(
        "GET", "/api/v1/serviceaccounts", params={"fieldSelector": "metadata.name=default"}
    )["items"]
    return {n["metadata"]["name"] for n in namespaces} <= {
        a["metadata"]["namespace"] for a in accounts
    }


def _job_done(node: Node, name: str) -> dict[str, Any] | None:
    job = node.plane.request("GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{name}")
    conditions = job.get("status", {}).get("conditions") or []
    done = any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions)
    return job if done else None


def _cron_job_run(node: Node) -> dict[str, Any] | None:
    jobs = node.plane.request(
        "GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs",
        params={"labelSelector": f"{M.LABEL_RUNBOOK}=platform-smoke"},
    )  # fmt: skip
    for job in jobs["items"]:
        owners = job["metadata"].get("ownerReferences") or []
        if any(o["kind"] == "CronJob" for o in owners):
            return _job_done(node, job["metadata"]["name"])
    return None


@pytest.fixture(scope="module")
def platform(
    node: Node,
    demo_home: Path,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Platform:
    t0 = time.monotonic()
    image = runbook_image()
    assert image.tag == default_tag()  # the image a Job of this version names
    node.import_image(image.archive)  # unless the node has this very image
    telemetry = demo_home / "demo" / "telemetry"
    node.share_read_only(telemetry)
    node.namespace(NAMESPACE)
    printed = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "rbac", "--namespace", NAMESPACE],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    applied = node.plane.kubectl("apply", "-f", "-", stdin=printed)
    assert applied.returncode == 0, applied.stderr
    node.plane.apply(
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": M.CREDENTIALS_SECRET, "namespace": NAMESPACE},
         "stringData": {"HXB_TEST_S3_ACCESS": s3_server.access_key,
                        "HXB_TEST_S3_SECRET": s3_server.secret_key}}
    )  # fmt: skip
    _seed_cluster(node)
    config = _profile(
        tmp_path_factory.mktemp("node-profile") / "profiles.toml",
        node, telemetry, mlflow_server, s3_server,
    )  # fmt: skip
    env = {
        "HXB_LAB_CONFIG": str(config),
        "HXB_LAB_PROFILE": "node",
        "HXB_TEST_S3_ACCESS": s3_server.access_key,
        "HXB_TEST_S3_SECRET": s3_server.secret_key,
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        # The CronJob first: it fires at the next minute while the Jobs run.
        hx.runbooks.get("platform-smoke").schedule("* * * * *", {"note": "cron"})
        jobs = {name: hx.runbooks.get(name).submit({}) for name in SHIPPED}
        secret_job = hx.runbooks.get("secret_parameter").submit({"token": TOKEN})
        finished = {}
        for submission in [*jobs.values(), secret_job]:
            finished[submission.name] = wait_for(
                lambda s=submission: _job_done(node, s.name), JOB_TIMEOUT,
                f"job {submission.name}\n{node.logs()}",
            )  # fmt: skip
        cron_job = wait_for(lambda: _cron_job_run(node), 90.0, "the CronJob's first Job")
        hx.runbooks.delete("rb-platform-smoke")
    return Platform(node, config, env, jobs, secret_job, cron_job, finished, time.monotonic() - t0)


@pytest.fixture
def node_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    for key, value in platform.env.items():
        monkeypatch.setenv(key, value)
    return platform


def _row(runbook: str, run_id: str) -> Any:
    return hx.runbooks.runs(runbook).set_index("run_id").loc[run_id]


def test_every_shipped_runbook_runs_in_its_pod_and_records_its_run(node_env: Platform) -> None:
    assert SHIPPED and set(node_env.jobs) == set(SHIPPED)
    for name, submission in node_env.jobs.items():
        row = _row(name, submission.run_id)
        assert row["status"] == "succeeded", (name, row["error"])
        job = node_env.finished[submission.name]
        assert job["status"].get("succeeded") == 1, (name, job["status"])
        assert row["executor"] == "kubernetes" and row["kubernetes_job"] == submission.name
        defaults = {p.name: p.default for p in hx.runbooks.get(name).parameters}
        assert row["parameters"] == defaults, name
        assert row["report_uri"].startswith("s3://") and row["notebook_uri"].startswith("s3://")
        report = read_report(dict(row), load_profile())
        assert b"<html" in report[:2000].lower() and name.encode() in report


def test_runs_lists_the_pods_runs_with_their_reports(node_env: Platform, tmp_path: Path) -> None:
    hxb = str(BIN / "hxb-lab")
    done = subprocess.run([hxb, "runbook", "runs", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    listed = {r["run_id"]: r for r in map(json.loads, done.stdout.splitlines())}
    for name, submission in node_env.jobs.items():
        run = listed[submission.run_id]
        assert (run["runbook"], run["status"], run["executor"]) == (name, "succeeded", "kubernetes")
        assert run["report_uri"].startswith("s3://")
    run_id = node_env.jobs["platform-smoke"].run_id
    out = tmp_path / "report.html"
    saved = subprocess.run([hxb, "runbook", "report", run_id, "--output", str(out)],
                           capture_output=True, text=True)  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "Platform smoke check" in out.read_text()


def test_a_cronjob_fires_on_its_schedule_and_its_run_is_recorded(node_env: Platform) -> None:
    job = node_env.cron_job
    assert job["status"].get("succeeded") == 1, job["status"]
    history = hx.runbooks.runs("platform-smoke")
    (row,) = [r for _, r in history.iterrows() if r["kubernetes_job"] == job["metadata"]["name"]]
    assert row["status"] == "succeeded" and row["parameters"]["note"] == "cron"
    assert row["report_uri"].startswith("s3://")


def test_a_secret_parameter_reaches_the_pod_only_through_a_secret(node_env: Platform) -> None:
    plane, submission = node_env.node.plane, node_env.secret_job
    row = _row("secret_parameter", submission.run_id)
    assert row["metrics"] == {"token_length": float(len(TOKEN))}  # the kernel had the value
    assert row["parameters"] == {"user": "ops", "token": "***"}
    pods = plane.request(
        "GET", f"/api/v1/namespaces/{NAMESPACE}/pods",
        params={"labelSelector": f"{M.JOB_NAME_LABEL}={submission.name}"},
    )["items"]  # fmt: skip
    assert len(pods) == 1 and TOKEN not in json.dumps(pods)
    logs = plane.kubectl("logs", "-n", NAMESPACE, pods[0]["metadata"]["name"])
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stderr
    assert TOKEN not in logs.stdout + logs.stderr
    store = ArtifactStore.of(load_profile())
    notebook = store.get(row["notebook_uri"]).decode()
    report = read_report(dict(row), load_profile()).decode()
    assert "the token is" in notebook and TOKEN not in notebook
    assert TOKEN not in report and TOKEN not in str(row["error"])
