"""Rollout actions: dry runs show a diff and a patch; applying goes through a server-side
dry run and the resourceVersion read; conflicts, RBAC, admission policies and unknown
model versions change nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from hxb_lab.demo.cluster.simulate import Platform
from hxb_lab.errors import (
    ClusterError,
    ConflictError,
    ForbiddenError,
    HxbLabError,
    NotFoundError,
    ParameterError,
)
from hxb_lab.inference import Change
from hxb_lab.workbench import Workbench
from tests.inference.conftest import get_inference_service, live_workbench, put_inference_service
from tests.inference.kserve_controller import reconcile
from tests.support.controlplane import RESTRICTED_USER, ControlPlane
from tests.support.mlflow_server import MlflowServer

MERGE = "application/merge-patch+json"


# ---------------------------------------------------------------------------- the demo
def test_every_action_is_a_dry_run_with_a_readable_diff(demo_wb: Workbench) -> None:
    change = demo_wb.inference.scale("llm-chat", max_replicas=8)
    assert isinstance(change, Change)
    assert not change.applied
    assert change.summary == "scale assistant/llm-chat to max_replicas=8"
    assert "-    maxReplicas: 6\n+    maxReplicas: 8\n" in change.diff
    assert change.patch == {"spec": {"predictor": {"maxReplicas": 8}}}
    assert str(change).startswith("scale assistant/llm-chat to max_replicas=8 [dry run]\n---")
    assert repr(change) == (
        "<Change scale demo/assistant/llm-chat (dry run): "
        "scale assistant/llm-chat to max_replicas=8>"
    )

    promote = demo_wb.inference.promote("llm-chat")
    assert "-    canaryTrafficPercent: 20\n" in promote.diff
    assert promote.patch == {"spec": {"predictor": {"canaryTrafficPercent": None}}}
    assert "from 20 % to 100 % of traffic" in promote.summary


def test_the_demo_snapshot_refuses_to_apply(demo_wb: Workbench) -> None:
    message = "the demo cluster is a snapshot: actions are dry runs only"
    with pytest.raises(ClusterError, match=message):
        demo_wb.inference.scale("fraud-score", min_replicas=4, apply=True)
    change = demo_wb.inference.scale("fraud-score", min_replicas=4)
    with pytest.raises(ClusterError, match=message):
        change.apply()
    assert (
        demo_wb.inference.deployments(namespace="risk")
        .set_index("name")
        .loc["fraud-score", "min_replicas"]
        == 3
    )


def test_rollback_and_registry_rollouts_resolve_versions_in_the_registry(
    demo_wb: Workbench,
) -> None:
    back = demo_wb.inference.rollback("llm-chat")  # the previous revision ran v7
    assert "-    hxb.io/model-version: '8'\n+    hxb.io/model-version: '7'\n" in back.diff
    assert "-    canaryTrafficPercent: 20\n" in back.diff
    assert back.patch["spec"]["predictor"] == {
        "canaryTrafficPercent": None,
        "model": {"storageUri": "s3://hxb-models/llm-chat/v7"},
    }
    assert back.patch["metadata"]["labels"] == {
        "hxb.io/model": "llm-chat",
        "hxb.io/model-version": "7",
    }
    assert back.summary.startswith("roll assistant/llm-chat back from llm-chat v8 to llm-chat v7")

    champion = demo_wb.inference.promote_from_registry("fraud-score", alias="champion")
    assert champion.empty, "v12 is already served"
    assert "(no change)" in str(champion)
    challenger = demo_wb.inference.promote_from_registry("llm-chat", "llm-chat", alias="challenger")
    assert (
        challenger.patch["spec"]["predictor"]["model"]["storageUri"]
        == "s3://hxb-models/llm-chat/v8"
    )
    # Mid-canary the spec already holds v8: promoting it ends the canary and keeps the
    # rollback target (the previous revision's v7) rather than recording v8 as "previous".
    assert challenger.patch["spec"]["predictor"]["canaryTrafficPercent"] is None
    assert "annotations" not in challenger.patch["metadata"]

    canary = demo_wb.inference.canary("text-embed", version=4, percent=25)
    assert canary.summary == (
        "canary text-embed v4 (s3://hxb-models/text-embed/v4) on search/text-embed "
        "with 25 % of traffic"
    )
    assert "+      storageUri: s3://hxb-models/text-embed/v4\n" in canary.diff
    assert "+    hxb.io/previous-storage-uri: s3://hxb-models/text-embed/v5\n" in canary.diff
    assert canary.patch["spec"]["predictor"]["canaryTrafficPercent"] == 25

    # A registry URI is what the user names; the server downloads the version's URI.
    by_uri = demo_wb.inference.canary("llm-chat", storage_uri="models:/llm-chat/6", percent=5)
    assert by_uri.patch["spec"]["predictor"]["model"]["storageUri"] == "s3://hxb-models/llm-chat/v6"
    assert by_uri.patch["metadata"]["labels"]["hxb.io/model-version"] == "6"
    assert "hxb.io/previous-storage-uri" not in by_uri.diff, "mid-canary, the stable model stays"


def test_rollback_without_a_previous_revision_asks_the_registry(demo_wb: Workbench) -> None:
    """image-tagger (v9) fails to load and no earlier revision is recorded; the registry
    holds v1 to v9, so the rollback serves v8."""
    back = demo_wb.inference.rollback("image-tagger")
    assert back.summary == (
        "roll vision/image-tagger back from image-tagger v9 to image-tagger v8 "
        "(s3://hxb-models/image-tagger/v8) with all traffic"
    )
    assert back.patch["spec"]["predictor"]["model"] == {
        "storageUri": "s3://hxb-models/image-tagger/v8"
    }
    assert back.patch["metadata"]["labels"] == {
        "hxb.io/model": "image-tagger",
        "hxb.io/model-version": "8",
    }
    assert back.patch["metadata"]["annotations"]["hxb.io/previous-model"] == (
        "models:/image-tagger/9"
    )


def test_bad_requests_are_named(demo_wb: Workbench) -> None:
    inference = demo_wb.inference
    with pytest.raises(
        ParameterError, match="max_replicas: expected a whole number from 0 to 10000, got -1"
    ):
        inference.scale("llm-chat", max_replicas=-1)
    with pytest.raises(ParameterError, match=r"min_replicas \(9\) is above max_replicas \(6\)"):
        inference.scale("llm-chat", min_replicas=9)
    with pytest.raises(ParameterError, match="pass min_replicas=, max_replicas= or both"):
        inference.scale("llm-chat")
    with pytest.raises(ParameterError, match="percent: expected a whole number from 1 to 99"):
        inference.canary("text-embed", version=4, percent=100)
    with pytest.raises(ParameterError, match="exactly one of storage_uri=, version= and alias="):
        inference.canary("text-embed", version=4, alias="champion")
    # a share given where the URI goes is not served as `storageUri: 20`
    with pytest.raises(ParameterError, match="to send 20 % of the traffic, pass percent=20"):
        inference.canary("llm-chat", 20)
    with pytest.raises(ParameterError, match="storage_uri: '20' is not a model URI"):
        inference.canary("llm-chat", "20")
    with pytest.raises(
        NotFoundError, match="version 99 of model 'text-embed' is not in the model registry"
    ):
        inference.canary("text-embed", version=99)
    with pytest.raises(NotFoundError, match="alias 'gold' of model 'text-embed'"):
        inference.promote_from_registry("text-embed", alias="gold")
    with pytest.raises(
        HxbLabError, match="fraud-score has no canary in progress: nothing to promote"
    ):
        inference.promote("fraud-score")
    with pytest.raises(HxbLabError, match="Seldon Model, which has no canary"):
        inference.canary("query-intent", version=1)
    with pytest.raises(
        NotFoundError,
        match=r"cannot tell which model risk/aml-graph served before \(no previous revision is "
        r"recorded and the registry has no earlier version of aml-graph v1;",
    ):
        inference.rollback("aml-graph")


def test_the_html_view_escapes_what_comes_from_the_cluster(demo_wb: Workbench) -> None:
    change = demo_wb.inference.canary(
        "fraud-score", storage_uri="s3://m/<script>alert(1)</script>", percent=5
    )
    html = change._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "(dry run)" in html


def test_a_seldon_model_scales_within_its_bounds(demo_wb: Workbench) -> None:
    change = demo_wb.inference.scale("query-intent", min_replicas=3, max_replicas=5)
    assert change.patch == {"spec": {"minReplicas": 3, "maxReplicas": 5, "replicas": 3}}
    assert change.resource == "models.mlops.seldon.io"


# ---------------------------------------------------------------------------- live
@pytest.fixture
def chat(control_plane: ControlPlane, scenario_platform: Platform, kube_namespace: str) -> str:
    """llm-chat, mid-canary (v8 at 20 %), copied into this test's namespace."""
    put_inference_service(control_plane, scenario_platform, "llm-chat", kube_namespace)
    return kube_namespace


def _row(wb: Workbench, namespace: str, name: str) -> Any:
    frame = wb.inference.deployments(namespace=namespace)
    return frame.set_index("name").loc[name]


@pytest.mark.kube
@pytest.mark.mlflow_server
def test_promote_rollback_canary_and_registry_rollout_on_a_live_cluster(
    live: Workbench, control_plane: ControlPlane, chat: str
) -> None:
    ns, inference = chat, live.inference
    done = inference.promote("llm-chat", namespace=ns, apply=True)
    assert done.applied
    assert "canaryTrafficPercent" not in done.after["spec"]["predictor"]
    reconcile(control_plane, ns, "llm-chat")
    row = _row(live, ns, "llm-chat")
    assert (row["model_version"], row["latest_ready_revision"]) == (8, "llm-chat-predictor-00008")
    assert pd.isna(row["canary_percent"])

    # The previous revision ran v7 (its Deployment's labels): the registry gives its URI.
    back = inference.rollback("llm-chat", namespace=ns, apply=True)
    assert back.after["spec"]["predictor"]["model"]["storageUri"] == "s3://hxb-models/llm-chat/v7"
    reconcile(control_plane, ns, "llm-chat")
    row = _row(live, ns, "llm-chat")
    assert (row["model_version"], row["storage_uri"]) == (7, "s3://hxb-models/llm-chat/v7")
    assert row["latest_ready_revision"] == "llm-chat-predictor-00009"

    canary = inference.canary("llm-chat", alias="challenger", percent=10, namespace=ns, apply=True)
    assert canary.applied
    reconcile(control_plane, ns, "llm-chat")
    row = _row(live, ns, "llm-chat")
    assert (row["model_version"], row["canary_percent"], row["previous_model_version"]) == (
        8,
        10,
        7,
    )

    # Rolling back a canary: back to what the annotation recorded, all traffic.
    inference.rollback("llm-chat", namespace=ns, apply=True)
    reconcile(control_plane, ns, "llm-chat")
    row = _row(live, ns, "llm-chat")
    assert row["model_version"] == 7
    assert pd.isna(row["canary_percent"])

    rollout = inference.promote_from_registry(
        "llm-chat", alias="challenger", namespace=ns, apply=True
    )
    assert rollout.applied
    stored = get_inference_service(control_plane, ns, "llm-chat")
    assert stored["spec"]["predictor"]["model"]["storageUri"] == "s3://hxb-models/llm-chat/v8"
    assert stored["metadata"]["labels"]["hxb.io/model-version"] == "8"
    assert stored["metadata"]["managedFields"][-1]["manager"] == "hxb-lab"


@pytest.mark.kube
@pytest.mark.mlflow_server
def test_a_change_reviewed_against_an_old_version_conflicts_and_changes_nothing(
    live: Workbench, control_plane: ControlPlane, chat: str
) -> None:
    change = live.inference.scale("llm-chat", max_replicas=9, namespace=chat)
    assert change.resource_version is not None
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{chat}/inferenceservices/llm-chat"
    control_plane.request(
        "PATCH", path, {"metadata": {"labels": {"touched": "yes"}}}, content_type=MERGE
    )
    with pytest.raises(
        ConflictError,
        match=r"changed since it was read \(resourceVersion \d+\): nothing was changed",
    ):
        change.apply()
    assert (
        get_inference_service(control_plane, chat, "llm-chat")["spec"]["predictor"]["maxReplicas"]
        == 6
    )
    fresh = live.inference.scale("llm-chat", max_replicas=9, namespace=chat, apply=True)
    assert fresh.applied
    assert (
        get_inference_service(control_plane, chat, "llm-chat")["spec"]["predictor"]["maxReplicas"]
        == 9
    )


@pytest.mark.kube
@pytest.mark.mlflow_server
def test_an_unknown_model_version_changes_nothing(
    live: Workbench, control_plane: ControlPlane, chat: str
) -> None:
    before = get_inference_service(control_plane, chat, "llm-chat")
    with pytest.raises(
        NotFoundError, match="version 99 of model 'llm-chat' is not in the model registry"
    ):
        live.inference.canary("llm-chat", version=99, namespace=chat, apply=True)
    assert (
        get_inference_service(control_plane, chat, "llm-chat")["metadata"]["resourceVersion"]
        == before["metadata"]["resourceVersion"]
    )


@pytest.fixture
def other_namespace(control_plane: ControlPlane) -> Iterator[str]:
    name = f"inf-readonly-{uuid.uuid4().hex[:6]}"
    control_plane.create_namespace(name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false")


@pytest.mark.kube
@pytest.mark.mlflow_server
def test_a_restricted_user_may_act_only_where_it_may_write(
    control_plane: ControlPlane,
    mlflow_server: MlflowServer,
    scenario_platform: Platform,
    chat: str,
    other_namespace: str,
) -> None:
    put_inference_service(control_plane, scenario_platform, "llm-chat", other_namespace)
    control_plane.grant_namespace_access(chat, write=True)
    control_plane.grant_namespace_access(other_namespace)  # read only
    wb = live_workbench(control_plane, mlflow_server, context="restricted")
    done = wb.inference.scale("llm-chat", min_replicas=4, namespace=chat, apply=True)
    assert done.applied
    assert (
        get_inference_service(control_plane, chat, "llm-chat")["spec"]["predictor"]["minReplicas"]
        == 4
    )

    with pytest.raises(ForbiddenError) as denied:
        wb.inference.scale("llm-chat", min_replicas=4, namespace=other_namespace, apply=True)
    assert str(denied.value).startswith(
        f"user '{RESTRICTED_USER}' may not patch inferenceservices.serving.kserve.io in namespace "
        f"'{other_namespace}'"
    )
    assert (
        get_inference_service(control_plane, other_namespace, "llm-chat")["spec"]["predictor"][
            "minReplicas"
        ]
        == 3
    )
    with pytest.raises(
        ForbiddenError,
        match=r"may not get inferenceservices\.serving\.kserve\.io in namespace 'default'",
    ):
        wb.inference.promote("llm-chat", namespace="default", apply=True)
    wb.close()


@pytest.fixture
def storage_policy(control_plane: ControlPlane, chat: str) -> Iterator[str]:
    """A ValidatingAdmissionPolicy (as a platform guard would have) in `chat`: models come
    from s3://hxb-models/ only."""
    name = f"hxb-models-only-{uuid.uuid4().hex[:6]}"
    admission = "/apis/admissionregistration.k8s.io/v1"
    rule = {
        "apiGroups": ["serving.kserve.io"],
        "apiVersions": ["*"],
        "operations": ["UPDATE"],
        "resources": ["inferenceservices"],
    }
    check = {
        "expression": "object.spec.predictor.model.storageUri.startsWith('s3://hxb-models/')",
        "message": "models must come from s3://hxb-models/",
    }
    policy = {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": [rule]}}
    policy["validations"] = [check]
    control_plane.request(
        "POST",
        f"{admission}/validatingadmissionpolicies",
        {"metadata": {"name": name}, "spec": policy},
    )
    only_here = {"matchLabels": {"kubernetes.io/metadata.name": chat}}
    binding = {
        "policyName": name,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": only_here},
    }
    control_plane.request(
        "POST",
        f"{admission}/validatingadmissionpolicybindings",
        {"metadata": {"name": name}, "spec": binding},
    )
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{chat}/inferenceservices/llm-chat"
    probe = {"spec": {"predictor": {"model": {"storageUri": "gs://elsewhere/probe"}}}}
    from tests.support.controlplane import ControlPlaneError

    deadline = time.monotonic() + 60
    while True:  # the policy is in force once a dry run of a bad URI is denied
        try:
            control_plane.request(
                "PATCH", path, probe, params={"dryRun": "All"}, content_type=MERGE
            )
        except ControlPlaneError as exc:
            if "models must come from" in str(exc):
                break
            raise
        if time.monotonic() > deadline:
            pytest.fail("the admission policy never took effect")
        time.sleep(0.05)
    yield name
    control_plane.request(
        "DELETE", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/{name}"
    )
    control_plane.request(
        "DELETE", f"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/{name}"
    )


@pytest.mark.kube
@pytest.mark.mlflow_server
def test_an_admission_policy_refuses_the_dry_run_and_nothing_changes(
    live: Workbench, control_plane: ControlPlane, chat: str, storage_policy: str
) -> None:
    before = get_inference_service(control_plane, chat, "llm-chat")
    with pytest.raises(ClusterError) as refused:
        live.inference.canary(
            "llm-chat", storage_uri="gs://elsewhere/llm", percent=5, namespace=chat, apply=True
        )
    text = str(refused.value)
    assert f"the API server refused the server-side dry run of {chat}/llm-chat (canary)" in text
    assert "nothing was changed" in text
    assert "models must come from s3://hxb-models/" in text
    after = get_inference_service(control_plane, chat, "llm-chat")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
