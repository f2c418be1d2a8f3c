"""GitOps and guard rails on the real API server: Argo CD, Tekton and Gatekeeper objects
as their controllers leave them (upstream CRDs, statuses through ``/status``), a user who
may not list a kind, a change Argo CD would revert, and a Gatekeeper refusal in the
server-side dry run, answered by a real admission webhook on loopback."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hxb_lab.cluster.optional import AbsentKindWarning
from hxb_lab.config import KubeConfig, Profile
from hxb_lab.errors import AdmissionDeniedError, ClusterError
from hxb_lab.warn import PartialReadWarning
from hxb_lab.workbench import Workbench
from tests.support.admission_webhook import required_labels_webhook
from tests.support.controlplane import ControlPlane, ControlPlaneError

MERGE = "application/merge-patch+json"
REPO = "https://git.example/platform/deploy.git"


def _workbench(plane: ControlPlane, context: str = "admin", **kube: Any) -> Workbench:
    config = KubeConfig(kubeconfig=str(plane.kubeconfig_path), contexts=(context,), **kube)
    return Workbench(Profile(name="live", kube=config))


@pytest.fixture
def admin(control_plane: ControlPlane) -> Iterator[Workbench]:
    wb = _workbench(control_plane)
    yield wb
    wb.close()


def _put(plane: ControlPlane, path: str, obj: dict[str, Any]) -> None:
    """Create `obj` at collection `path`, then write its status as its controller does."""
    status = obj.pop("status", None)
    plane.request("POST", path, obj)
    if status is not None:
        name = obj["metadata"]["name"]
        plane.request("PATCH", f"{path}/{name}/status", {"status": status}, content_type=MERGE)


def _condition(state: str, reason: str) -> list[dict[str, str]]:
    return [{"type": "Succeeded", "status": state, "reason": reason, "message": reason}]


def _application(ns: str, name: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "project": "default",
            "source": {"repoURL": REPO, "path": f"apps/{name}", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
            "syncPolicy": {"automated": {"selfHeal": True}},
        },
        "status": {
            "sync": {"status": "OutOfSync", "revision": "0123abc"},
            "health": {"status": "Degraded"},
            "resources": resources,
            "operationState": {
                "phase": "Failed",
                "message": "one or more objects failed to apply",
                "operation": {"sync": {"revision": "0123abc"}},
                "startedAt": "2026-01-02T03:04:00Z",
                "finishedAt": "2026-01-02T03:04:05Z",
            },
        },
    }


def _tekton(plane: ControlPlane, ns: str) -> None:
    base = f"/apis/tekton.dev/v1/namespaces/{ns}"
    labels = {"tekton.dev/pipelineRun": "build-1", "tekton.dev/pipelineTask": "push"}
    _put(
        plane,
        f"{base}/taskruns",
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "TaskRun",
            "metadata": {"name": "build-1-push", "namespace": ns, "labels": labels},
            "spec": {"taskRef": {"name": "push"}},
            "status": {
                "podName": "build-1-push-pod",
                "startTime": "2026-01-02T03:00:00Z",
                "completionTime": "2026-01-02T03:01:30Z",
                "conditions": _condition("False", "Failed"),
                "steps": [
                    {"name": "login", "container": "step-login", "terminated": {"exitCode": 0}},
                    {"name": "push", "container": "step-push", "terminated": {"exitCode": 2}},
                ],
                "results": [{"name": "IMAGE_URL", "type": "string", "value": "reg.example/a:1"}],
            },
        },
    )
    _put(
        plane,
        f"{base}/pipelineruns",
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {"name": "build-1", "namespace": ns},
            "spec": {"pipelineRef": {"name": "build"}},
            "status": {
                "startTime": "2026-01-02T03:00:00Z",
                "completionTime": "2026-01-02T03:02:00Z",
                "conditions": _condition("False", "Failed"),
            },
        },
    )


def test_live_applications_and_pipeline_runs_read_as_their_controllers_left_them(
    control_plane: ControlPlane, admin: Workbench, kube_namespace: str
) -> None:
    ns = kube_namespace
    managed = {"group": "apps", "kind": "Deployment", "namespace": ns, "name": "web"}
    _put(
        control_plane,
        f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications",
        _application(ns, "web", [{**managed, "status": "OutOfSync"}]),
    )
    _tekton(control_plane, ns)

    apps = admin.gitops.applications()
    app = apps[apps["namespace"] == ns].iloc[0]
    assert (app["sync_status"], app["health_status"], app["revision"]) == (
        "OutOfSync",
        "Degraded",
        "0123abc",
    )
    assert (app["managed"], app["out_of_sync"], app["self_heal"]) == (1, 1, True)
    assert app["last_sync_error"] == "one or more objects failed to apply"

    runs = admin.gitops.pipeline_runs(namespace=ns)
    row = runs.iloc[0]
    assert (row["status"], row["failed_task"], row["failed_step"], row["image"]) == (
        "Failed",
        "push",
        "push",
        "reg.example/a:1",
    )
    assert row["duration_ms"] == 120_000.0
    tasks = admin.gitops.task_runs(namespace=ns)
    assert tasks[["pipeline_run", "exit_code", "pod"]].values.tolist() == [
        ["build-1", 2, "build-1-push-pod"]
    ]


def test_a_user_who_may_not_list_a_kind_gets_one_warning_and_the_rest(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    ns = kube_namespace
    _put(
        control_plane,
        f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications",
        _application(ns, "mine", []),
    )
    _tekton(control_plane, ns)
    control_plane.grant_namespace_access(ns, create_namespace=False)  # no tekton.dev
    wb = _workbench(control_plane, "restricted", namespace=ns)
    with pytest.warns(PartialReadWarning):  # read namespace ... only
        apps = wb.gitops.applications()
    with pytest.warns(PartialReadWarning) as caught:
        runs = wb.gitops.pipeline_runs()
    assert apps["name"].tolist() == ["mine"] and runs.empty
    messages = [str(w.message) for w in caught]
    denied = (
        "user 'hxb-restricted' may not list pipelineruns.tekton.dev cluster-wide on "
        "'restricted': its PipelineRun rows are missing"
    )
    assert denied in messages
    assert sum("pipelineruns" in m for m in messages) == 1
    wb.close()


def _constraint_crd(kind: str) -> dict[str, Any]:
    """The CRD Gatekeeper makes from a ConstraintTemplate (v1beta1 stored, v1 served)."""
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "enforcementAction": {"type": "string"},
                    "match": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "parameters": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    plural = kind.lower()
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.constraints.gatekeeper.sh",
            "labels": {"gatekeeper.sh/constraint": "yes"},
        },
        "spec": {
            "group": "constraints.gatekeeper.sh",
            "scope": "Cluster",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": plural,
                "listKind": f"{kind}List",
                "categories": ["constraint", "constraints"],
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": version == "v1beta1",
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": schema},
                }
                for version in ("v1beta1", "v1")
            ],
        },
    }


def _template(kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower()},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": "package x\n"}],
        },
    }


def test_gatekeeper_violations_come_from_the_constraints_audit_status(
    control_plane: ControlPlane, admin: Workbench, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    kind = "HxbRequiredLabels"
    crd = tmp_path / "constraint-crd.yaml"
    crd.write_text(json.dumps(_constraint_crd(kind)))
    control_plane.install_crds([crd])
    for template in (_template(kind), _template("HxbNotYetCompiled")):  # the second: no CRD
        control_plane.apply(template, plural="constrainttemplates", namespaced=False)
    name = f"owner-{ns}"[:60]
    violation = {"kind": "Pod", "namespace": ns, "name": "p1", "message": "needs owner"}
    _put(
        control_plane,
        "/apis/constraints.gatekeeper.sh/v1beta1/hxbrequiredlabels",
        {
            "apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": {"enforcementAction": "deny", "parameters": {"labels": ["owner"]}},
            "status": {
                "auditTimestamp": "2026-01-02T03:04:05Z",
                "totalViolations": 3,
                "violations": [violation],
            },
        },
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = admin.policy.violations()
    ours = found[found["constraint"] == name]
    assert ours[["constraint_kind", "kind", "namespace", "name", "message"]].values.tolist() == [
        [kind, "Pod", ns, "p1", "needs owner"]
    ]
    messages = {str(w.message) for w in caught}
    assert (
        "cluster 'admin' has no HxbNotYetCompiled CRD "
        "(hxbnotyetcompiled.constraints.gatekeeper.sh): no rows from it"
    ) in messages
    assert any(w.category is AbsentKindWarning for w in caught)
    assert any(f"{kind}/{name} lists 1 of 3" in m for m in messages)


def _isvc(ns: str, name: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/instance": app}},
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "maxReplicas": 2,
                "model": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://m/a"},
            }
        },
    }


def test_a_change_argo_cd_would_revert_or_gatekeeper_denies_changes_nothing(
    control_plane: ControlPlane, admin: Workbench, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
    control_plane.request("POST", path, _isvc(ns, "ranker", "ranking"))
    _put(
        control_plane,
        f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications",
        _application(ns, "ranking", []),  # tracks it by Argo CD's instance label
    )

    change = admin.inference.scale("ranker", max_replicas=4, namespace=ns)
    assert change.reverted
    expected = f"change it in Git: {REPO}/apps/ranking@main"
    assert change.gitops.endswith(expected)
    with pytest.raises(ClusterError, match="this change will be reverted at once") as refused:
        change.apply()
    assert "despite_gitops=True" in str(refused.value)

    constraint = "inference-needs-owner"
    with required_labels_webhook(control_plane, tmp_path, ns, constraint, "hxb.io/owner") as seen:
        deadline = time.monotonic() + 15
        refusals: list[int | None] = []
        while not seen:  # the API server picks up a new webhook within a moment
            assert time.monotonic() < deadline, "the API server never called the webhook"
            try:
                control_plane.request(
                    "PATCH",
                    f"{path}/ranker",
                    {"metadata": {"annotations": {"probe": "1"}}},
                    params={"dryRun": "All"},
                    content_type=MERGE,
                )
            except ControlPlaneError as exc:  # refused once the webhook answers
                refusals.append(exc.status)
        with pytest.raises(AdmissionDeniedError) as denied:
            change.apply(despite_gitops=True)
    assert denied.value.reason == f'[{constraint}] you must provide labels: {{"hxb.io/owner"}}'
    assert str(denied.value).startswith(
        f"Gatekeeper denied the server-side dry run of {ns}/ranker (scale) on 'admin', so "
        "nothing was changed: ["
    )
    assert set(refusals) == {403} and seen[-1]["dryRun"] is True
    after = control_plane.request("GET", f"{path}/ranker")
    assert after["spec"]["predictor"]["maxReplicas"] == 2
