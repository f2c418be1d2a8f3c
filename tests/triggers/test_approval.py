"""A write waits for a second person, on the real API server: a run proposes a `Change`,
its starter may not approve it, a second user's approval applies exactly the reviewed
patch and is recorded with the run; an object changed since is a conflict that changes
nothing; a proposal past its time expires. Read back with ``hx.runbooks.audit()``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hxb_lab as hx
from hxb_lab.config import load_profile

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = [pytest.mark.kube, pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
MERGE = "application/merge-patch+json"


def _max_replicas(plane: ControlPlane, namespace: str) -> int:
    obj = plane.request("GET", f"{ISVC.format(ns=namespace)}/llm-chat")
    return int(obj["spec"]["predictor"]["maxReplicas"])


@pytest.fixture
def deployment(control_plane: ControlPlane, kube_namespace: str) -> str:
    """An InferenceService ``llm-chat`` (2..6 replicas) in the test's own namespace."""
    body = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "llm-chat", "namespace": kube_namespace},
        "spec": {"predictor": {"minReplicas": 2, "maxReplicas": 6, "model": {
            "modelFormat": {"name": "pytorch"}, "storageUri": "s3://models/llm-chat/1"}}},
    }  # fmt: skip
    control_plane.request("POST", ISVC.format(ns=kube_namespace), body)
    return kube_namespace


@pytest.fixture
def profile(
    control_plane: ControlPlane, profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    profiles_file.write_text(
        'default = "live"\n[profiles.live]\n'
        f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n'
    )
    monkeypatch.setenv("HXB_LAB_USER", "alice")  # who starts the runs
    return "live"


def _propose(namespace: str) -> str:
    run = hx.runbooks.get("proposes").run({"namespace": namespace, "max_replicas": 9})
    assert run.status == "succeeded", run.summary()
    return run.id


def test_a_second_person_approves_what_was_reviewed_and_it_is_recorded(
    control_plane: ControlPlane, deployment: str, profile: str
) -> None:
    run_id = _propose(deployment)
    report = hx.runbooks.local_run(run_id).report.read_text()  # type: ignore[union-attr]
    assert "maxReplicas: 9" in report  # the diff is in the report
    assert _max_replicas(control_plane, deployment) == 6  # proposed, not applied

    with pytest.raises(hx.runbooks.ApprovalRefused, match=r"'alice' started run .* its own"):
        hx.runbooks.approve(run_id)  # alice started it
    assert _max_replicas(control_plane, deployment) == 6

    decided = hx.runbooks.approve(run_id, approver="bob")
    assert decided["state"] == "applied"
    assert _max_replicas(control_plane, deployment) == 9
    with pytest.raises(hx.runbooks.ApprovalRefused, match="already applied"):
        hx.runbooks.approve(run_id, approver="carol")

    row = hx.runbooks.audit(since="1h").set_index("run_id").loc[run_id]
    assert (row["approval"], row["decided_by"], row["started_by"]) == ("applied", "bob", "alice")
    assert row["patch"]["spec"]["predictor"]["maxReplicas"] == 9
    assert row["patch"]["metadata"]["resourceVersion"]  # the precondition that was sent
    assert row["answer"].startswith("applied: ") and '"maxReplicas": 9' in row["answer"]
    assert row["target"] == f"inferenceservices.serving.kserve.io {deployment}/llm-chat on admin"


def test_an_object_changed_since_the_review_conflicts_and_nothing_is_applied(
    control_plane: ControlPlane, deployment: str, profile: str
) -> None:
    run_id = _propose(deployment)
    control_plane.request(
        "PATCH", f"{ISVC.format(ns=deployment)}/llm-chat",
        {"metadata": {"labels": {"touched": "yes"}}}, content_type=MERGE,
    )  # fmt: skip
    cli = [sys.executable, "-m", "hxb_lab.cli"]
    done = subprocess.run([*cli, "approve", run_id, "--as", "bob"], capture_output=True, text=True)
    assert done.returncode == 2 and "changed since it was read" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert _max_replicas(control_plane, deployment) == 6
    listed = subprocess.run([*cli, "runbook", "audit", "--json"], capture_output=True, text=True)
    (row,) = [r for r in map(json.loads, listed.stdout.splitlines()) if r["run_id"] == run_id]
    assert row["approval"] == "conflict" and "nothing was changed" in row["answer"]
    assert row["decided_by"] == "bob"

    # A proposal past its time expires; a rejection must say why.
    late = _propose(deployment)
    with pytest.raises(hx.runbooks.ApprovalRefused, match="a rejection says why"):
        hx.runbooks.reject(late, " ", approver="bob")
    live = load_profile()
    hurried = dataclasses.replace(
        live, runbooks=dataclasses.replace(live.runbooks, approval_ttl_s=0.001)
    )
    with pytest.raises(hx.runbooks.ApprovalRefused, match=r"expired at .* unapproved"):
        hx.runbooks.approve(late, approver="bob", profile=hurried)
    assert _max_replicas(control_plane, deployment) == 6
    proposal: dict[str, Any] = json.loads(
        (hx.runbooks.local_run(late).directory / "proposal.json").read_text()  # type: ignore[union-attr]
    )
    assert [e["event"] for e in proposal["events"]] == ["proposed", "expired"]
