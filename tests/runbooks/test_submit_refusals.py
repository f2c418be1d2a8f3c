"""Bad input to `submit` and `schedule` is one line, before anything is created.

Each case runs against the real test API server, and afterwards the runbook namespace holds
no object of HXB Lab's: no ConfigMap, Secret, Job or CronJob was left half-created.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.errors import ConfigError, ForbiddenError, NotFoundError, ParameterError, RunbookError
from hxb_lab.runbooks._cron import check_cron
from tests.runbooks.conftest import BIN, FIXTURES, fixture
from tests.support.controlplane import ControlPlane, ControlPlaneError

pytestmark = pytest.mark.kube
RUNNER = "hxb-runbook-runner"
#: Cron expressions: what Kubernetes accepts and refuses is asked of the API server itself.
CRONS = [
    "*/15 6-18 * * MON-FRI", "@daily", "@hourly", "0 0 * * 0", "0 0 * * 6", "0 0 * * 7",
    "0 0 * * SUN-SAT", "5/15 * * * *", "0 0 31 2 *", "0 0 1,15 * *", "0 0 * JAN-MAR *",
    "0 0 ? * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 8",
    "* * * *", "* * * * * *", "1-0 * * * *", "*/0 * * * *", "0 0 L * *", "0 0 * * 1#2",
    "@reboot", "@every 1h", "TZ=UTC 0 * * * *", "MON * * * *", "0 0 * * MON-SUN",
]  # fmt: skip


def _profile(profiles_file: Path, plane: ControlPlane, namespace: str, *, context: str = "admin",
             image: str = "registry.example/hxb-lab-runbooks:test",
             directories: tuple[Path, ...] = (FIXTURES,)) -> str:  # fmt: skip
    dirs = ", ".join(f'"{d}"' for d in directories)
    profiles_file.write_text(
        "[profiles.k8s]\n"
        f'kube = {{ kubeconfig = "{plane.kubeconfig_path}", contexts = ["{context}"] }}\n'
        f'runbooks = {{ namespace = "{namespace}", directories = [{dirs}], image = "{image}" }}\n'
    )
    return "k8s"


def _account(plane: ControlPlane, namespace: str) -> None:
    plane.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": RUNNER, "namespace": namespace}})  # fmt: skip


def _left_behind(plane: ControlPlane, namespace: str) -> list[str]:
    """Every object of HXB Lab's in the namespace, as kind/name."""
    found = []
    for path in ("/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/secrets",
                 "/apis/batch/v1/namespaces/{ns}/jobs", "/apis/batch/v1/namespaces/{ns}/cronjobs"):  # fmt: skip
        listed = plane.request("GET", path.format(ns=namespace),
                               params={"labelSelector": "app.kubernetes.io/managed-by=hxb-lab"})  # fmt: skip
        found += [f"{i['kind'] if 'kind' in i else path.rsplit('/', 1)[-1]}/{i['metadata']['name']}"
                  for i in listed["items"]]  # fmt: skip
    return found


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


def test_an_image_reference_that_does_not_parse(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    _account(control_plane, kube_namespace)
    profile = _profile(profiles_file, control_plane, kube_namespace,
                       image="Registry.Example/HXB Lab:0.1::x")  # fmt: skip
    rb = hx.runbooks.get("succeeds", profile)
    with pytest.raises(ConfigError) as caught:
        rb.submit({"service": "x"}, profile)
    assert _one_line(caught.value).startswith(
        "profile 'k8s': runbooks.image 'Registry.Example/HXB Lab:0.1::x' is not an image reference"
    )
    with pytest.raises(ConfigError, match=r"runbooks\.image"):
        rb.schedule("0 6 * * *", {"service": "x"}, profile=profile)
    assert _left_behind(control_plane, kube_namespace) == []


def test_a_namespace_without_the_runner_service_account(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    profile = _profile(profiles_file, control_plane, kube_namespace)
    done = subprocess.run(
        [BIN / "hxb-lab", "runbook", "submit", "succeeds", "-p", "service", "x", "--profile", profile],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"hxb-lab: error: namespace '{kube_namespace}' has no service account '{RUNNER}' for "
        "runbook pods; nothing was created"
    )
    assert f"hxb-lab runbook rbac --namespace {kube_namespace} | kubectl apply -f -" in line
    with pytest.raises(NotFoundError, match="has no service account"):
        hx.runbooks.get("succeeds", profile).schedule(
            "0 6 * * *", {"service": "x"}, profile=profile
        )
    assert _left_behind(control_plane, kube_namespace) == []


def test_a_context_that_may_create_configmaps_but_not_jobs(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    _account(control_plane, kube_namespace)
    # Without the check first, the notebook's ConfigMap would be created, then the Job refused.
    control_plane.grant_namespace_access(
        kube_namespace, verbs=["get", "list", "create", "patch"],
        rules=[("", ["configmaps", "secrets"])],
    )  # fmt: skip
    profile = _profile(profiles_file, control_plane, kube_namespace, context="restricted")
    rb = hx.runbooks.get("succeeds", profile)
    with pytest.raises(ForbiddenError) as caught:
        rb.submit({"service": "x"}, profile)
    assert "may not create jobs in namespace" in _one_line(caught.value)
    assert "nothing was created" in str(caught.value)
    with pytest.raises(ForbiddenError, match=r"may not patch cronjobs"):
        rb.schedule("0 6 * * *", {"service": "x"}, profile=profile)
    assert _left_behind(control_plane, kube_namespace) == []


def test_a_notebook_larger_than_a_configmap_holds(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path, tmp_path: Path
) -> None:
    _account(control_plane, kube_namespace)
    data = json.loads(fixture("succeeds").read_text())
    data["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "big",
                          "source": "x" * (1100 * 1024)})  # fmt: skip
    (tmp_path / "huge.ipynb").write_text(json.dumps(data))
    profile = _profile(profiles_file, control_plane, kube_namespace, directories=(tmp_path,))
    rb = hx.runbooks.get("huge", profile)
    with pytest.raises(RunbookError) as caught:
        rb.submit({"service": "x"}, profile)
    assert "a ConfigMap carries at most 900 KiB" in _one_line(caught.value)
    with pytest.raises(RunbookError, match="at most 900 KiB"):
        rb.schedule("0 6 * * *", {"service": "x"}, profile=profile)
    assert _left_behind(control_plane, kube_namespace) == []


def _server_accepts(plane: ControlPlane, namespace: str, cron: str) -> bool:
    cronjob: dict[str, Any] = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "probe"},
        "spec": {"schedule": cron, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}},
    }  # fmt: skip
    status = 201
    try:
        plane.request("POST", f"/apis/batch/v1/namespaces/{namespace}/cronjobs", cronjob,
                      params={"dryRun": "All"})  # fmt: skip
    except ControlPlaneError as exc:
        status = exc.status or 0
    assert status in (201, 422), f"{cron!r}: HTTP {status}"
    return status == 201


def _we_accept(cron: str) -> bool:
    try:
        check_cron(cron)
    except ParameterError:
        return False
    return True


def test_a_cron_expression_kubernetes_would_reject_is_refused_first(
    control_plane: ControlPlane, kube_namespace: str, profiles_file: Path
) -> None:
    verdicts = {
        c: (_we_accept(c), _server_accepts(control_plane, kube_namespace, c)) for c in CRONS
    }
    let_through = [c for c, (ours, server) in verdicts.items() if ours and not server]
    assert let_through == [], "accepted here, refused by the API server"
    assert sum(server for _, server in verdicts.values()) >= 10  # the probe itself works

    _account(control_plane, kube_namespace)
    profile = _profile(profiles_file, control_plane, kube_namespace)
    rb = hx.runbooks.get("succeeds", profile)
    with pytest.raises(ParameterError) as caught:
        rb.schedule("0 0 * * 7", {"service": "x"}, profile=profile)
    assert "day of week: 7 is outside 0-6" in _one_line(caught.value)
    assert _left_behind(control_plane, kube_namespace) == []
