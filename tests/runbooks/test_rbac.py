"""`hxb-lab runbook rbac`: what it prints, applied to the real API server, lets the runner's
service account read what every runbook reads, cluster-wide, and write only where opted in.

The runner is the service account itself: its token comes from the API server's
TokenRequest, and the reads run through HXB Lab's own client with that token.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import hxb_lab as hx
from hxb_lab.clients.kube import open_kube
from hxb_lab.errors import ForbiddenError
from hxb_lab.runbooks._rbac import READS, needs
from tests.runbooks.conftest import BIN
from tests.support.controlplane import ControlPlane

RUNNER = "hxb-runbook-runner"


def _rbac(*args: str) -> str:
    printed = subprocess.run([BIN / "hxb-lab", "runbook", "rbac", *args],
                             capture_output=True, text=True)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    return printed.stdout


def _allowed(plane: ControlPlane, namespace: str, attributes: dict[str, Any]) -> bool:
    review = plane.request(
        "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
         "spec": {"user": f"system:serviceaccount:{namespace}:{RUNNER}",
                  "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                  "resourceAttributes": attributes}},
    )  # fmt: skip
    return bool(review["status"].get("allowed"))


def _can(plane: ControlPlane, ns: str, verb: str, qualified: str, where: str | None = None) -> bool:
    plural, _, group = qualified.partition(".")
    attributes = {"verb": verb, "group": group, "resource": plural}
    if where:
        attributes["namespace"] = where
    return _allowed(plane, ns, attributes)


def _runner_profile(plane: ControlPlane, namespace: str, profiles_file: Path, tmp: Path) -> str:
    """A profile whose kubeconfig holds the service account's own token."""
    token = plane.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{RUNNER}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
         "spec": {"expirationSeconds": 600}},
    )["status"]["token"]  # fmt: skip
    config = yaml.safe_load(plane.kubeconfig_path.read_text())
    config["users"] = [{"name": "runner", "user": {"token": token}}]
    cluster = config["clusters"][0]["name"]
    config["contexts"] = [{"name": "runner", "context": {"cluster": cluster, "user": "runner"}}]
    config["current-context"] = "runner"
    kubeconfig = tmp / "runner-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    profiles_file.write_text(
        f'[profiles.runner]\nkube = {{ kubeconfig = "{kubeconfig}", contexts = ["runner"] }}\n'
    )
    return "runner"


@pytest.mark.kube
def test_the_printed_rbac_lets_the_runner_read_everything_and_write_only_where_asked(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path, tmp_path: Path
) -> None:
    team, other = f"{kube_namespace[:50]}-team", f"{kube_namespace[:50]}-other"
    for name in (team, other):
        control_plane.create_namespace(name)
    try:
        printed = _rbac("--namespace", kube_namespace, "--write", team)
        applied = control_plane.kubectl("apply", "-f", "-", stdin=printed)
        assert applied.returncode == 0, applied.stderr
        kinds = [d["kind"] for d in yaml.safe_load_all(printed) if d]
        assert kinds == [
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
        ]
        # It says which runbook needs what, in the words of its resources.
        assert (
            "#   node-drain-readiness: reads namespaces, nodes, poddisruptionbudgets.policy, pods"
            in printed
        )
        assert "model-promotion: reads" in printed and "when run with dry_run=False" in printed

        ns = kube_namespace
        assert _can(control_plane, ns, "list", "nodes")  # cluster-wide
        assert _can(control_plane, ns, "watch", "pods")
        for rb in hx.runbooks.catalog()["name"]:
            need = needs(hx.runbooks.get(rb))
            for qualified in need.reads:
                assert _can(control_plane, ns, "list", qualified), f"{rb} reads {qualified}"
            for qualified in need.writes:
                assert _can(control_plane, ns, "patch", qualified, team), f"{rb}: {qualified}"
                assert not _can(control_plane, ns, "patch", qualified, other)
                assert not _can(control_plane, ns, "patch", qualified, ns)
        assert any(needs(hx.runbooks.get(rb)).writes for rb in hx.runbooks.catalog()["name"])
        for verb, qualified, where in (
            ("get", "secrets", ns), ("list", "secrets", None), ("list", "configmaps", team),
            ("create", "jobs.batch", ns), ("delete", "pods", team),
            ("patch", "deployments.apps", team), ("patch", "nodes", None),
        ):  # fmt: skip
            assert not _can(control_plane, ns, verb, qualified, where), (verb, qualified, where)

        # The reads themselves, through HXB Lab's client, as the service account.
        control_plane.apply(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"{ns[:40]}-gpu-1"},
             "status": {"capacity": {"nvidia.com/gpu": "8"}}}
        )  # fmt: skip
        wb = hx.connect(_runner_profile(control_plane, ns, profiles_file, tmp_path))
        assert f"{ns[:40]}-gpu-1" in set(wb.cluster.nodes()["name"])
        for read in ("pods", "events", "workloads", "workspaces", "gpus", "gpu_allocation"):
            getattr(wb.cluster, read)()  # a 403 or a partial read (a warning) fails the test
        wb.inference.deployments()
        assert {"cluster.nodes", "inference.deployments"} <= set(READS)

        # Writes: a patch of an InferenceService where the write Role is, and nowhere else.
        ctx = open_kube(wb.profile).contexts[0]
        for where in (other, ns):
            with pytest.raises(ForbiddenError, match="may not patch inferenceservices"):
                ctx.json(
                    "PATCH", f"/apis/serving.kserve.io/v1beta1/namespaces/{where}/inferenceservices/x",
                    [], {"metadata": {"labels": {"a": "b"}}},
                    content_type="application/merge-patch+json",
                    what=("patch", "inferenceservices", where),
                )  # fmt: skip
    finally:
        for name in (team, other):
            control_plane.kubectl("delete", "namespace", name, "--wait=false")
        control_plane.kubectl("delete", "node", f"{kube_namespace[:40]}-gpu-1", "--wait=false")
