"""Schedules and Kubernetes runs through the server, against the real test API server.

The API server has no controllers and no kubelet: CronJobs and Jobs are created, read
back, patched and deleted for real, and never start a pod (see DESIGN.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.conftest import API, FIXTURES, body, get, post

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube


@pytest.fixture
def kube_profile(profiles_file: Path, control_plane: ControlPlane, kube_namespace: str) -> str:
    """The active profile ``cluster``: the test API server, runbooks in a fresh namespace
    with the service account runbook pods run as."""
    control_plane.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "hxb-runbook-runner", "namespace": kube_namespace}}
    )  # fmt: skip
    profiles_file.write_text(
        'default = "cluster"\n\n[profiles.cluster]\n'
        f'kube = {{ kubeconfig = "{control_plane.kubeconfig_path}", contexts = ["admin"] }}\n'
        f'runbooks = {{ directories = ["{FIXTURES}"], namespace = "{kube_namespace}" }}\n'
    )
    return kube_namespace


async def _patch(jp_fetch: Any, name: str, data: Any, **kwargs: Any) -> Any:
    return await jp_fetch(*API, "schedules", name, method="PATCH", body=json.dumps(data), **kwargs)


async def test_schedule_list_suspend_resume_and_delete(
    jp_fetch: Any, kube_profile: str, control_plane: ControlPlane
) -> None:
    created = await post(jp_fetch, "runbooks", "checks", "schedules",
                         data={"cron": "0 6 * * 1-5", "parameters": {"service": "checkout"}})  # fmt: skip

    assert created.code == 201
    schedule = body(created)
    assert schedule["name"] == "rb-checks"
    assert schedule["cron"] == "0 6 * * 1-5"
    assert schedule["suspended"] is False
    assert schedule["namespace"] == kube_profile
    cronjob = control_plane.request(
        "GET", f"/apis/batch/v1/namespaces/{kube_profile}/cronjobs/rb-checks"
    )
    assert cronjob["spec"]["schedule"] == "0 6 * * 1-5"

    listed = body(await get(jp_fetch, "schedules"))
    assert listed["namespace"] == kube_profile
    assert listed["unavailable"] is None
    assert [(s["name"], s["runbook"], s["parameters"]["service"]) for s in listed["schedules"]] == [
        ("rb-checks", "checks", "checkout")
    ]

    assert body(await _patch(jp_fetch, "rb-checks", {"suspended": True}))["suspended"] is True
    assert body(await get(jp_fetch, "schedules"))["schedules"][0]["suspended"] is True
    assert body(await _patch(jp_fetch, "rb-checks", {"suspended": False}))["suspended"] is False

    deleted = await jp_fetch(*API, "schedules", "rb-checks", method="DELETE")
    assert body(deleted) == {"deleted": "rb-checks"}
    assert body(await get(jp_fetch, "schedules"))["schedules"] == []
    again = await jp_fetch(*API, "schedules", "rb-checks", method="DELETE", raise_error=False)
    assert again.code == 404
    assert "rb-checks" in body(again)["message"]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"cron": "61 6 * * *", "parameters": {"service": "s"}}, {"cron"}),
        ({"cron": "0 6 * *", "parameters": {"service": "s"}}, {"cron"}),
        ({"parameters": {"service": "s"}}, {"cron"}),
        ({"cron": "0 6 * * *", "parameters": {"replicas": "two"}}, {"service", "replicas"}),
        ({"cron": "0 6 * * *", "parameters": {"service": "s"}, "suspend": "no"}, {"suspend"}),
    ],
    ids=["minute-61", "four-fields", "no-cron", "bad-parameters", "suspend-not-bool"],
)
async def test_bad_schedules_name_the_field_and_create_nothing(
    jp_fetch: Any, kube_profile: str, control_plane: ControlPlane, data: Any, fields: set[str]
) -> None:
    response = await post(jp_fetch, "runbooks", "checks", "schedules", data=data,
                          raise_error=False)  # fmt: skip

    assert response.code == 400
    assert set(body(response)["fields"]) == fields
    cronjobs = control_plane.request("GET", f"/apis/batch/v1/namespaces/{kube_profile}/cronjobs")
    assert cronjobs["items"] == []


async def test_patch_needs_a_boolean(jp_fetch: Any, kube_profile: str) -> None:
    response = await _patch(jp_fetch, "rb-checks", {"suspended": "yes"}, raise_error=False)

    assert response.code == 400
    assert body(response)["fields"] == {"suspended": ["expected true or false"]}


async def test_a_kubernetes_run_is_a_job_listed_at_once_as_submitted(
    jp_fetch: Any, kube_profile: str, control_plane: ControlPlane
) -> None:
    response = await post(jp_fetch, "runbooks", "checks", "runs", data={
        "parameters": {"service": "checkout", "token": "k8s-s3cret"}, "executor": "kubernetes",
    })  # fmt: skip

    assert response.code == 202
    run = body(response)["run"]
    assert run["status"] == "submitted"
    assert run["executor"] == "kubernetes"
    assert run["parameters"]["token"] == "***"
    job = control_plane.request(
        "GET", f"/apis/batch/v1/namespaces/{kube_profile}/jobs/{run['kubernetes_job']}"
    )
    assert "k8s-s3cret" not in json.dumps(job)  # the secret travels in a Secret, not the Job
    listed = body(await get(jp_fetch, "runs"))["runs"]
    assert (run["id"], "submitted") in [(r["id"], r["status"]) for r in listed]
    refused = await post(jp_fetch, "runs", run["id"], "cancel", raise_error=False)
    assert refused.code == 409
    assert "delete the Job" in body(refused)["message"]


async def test_schedules_without_a_cluster_say_why(
    jp_fetch: Any, profiles_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-kubeconfig"
    profiles_file.write_text(
        f'default = "x"\n[profiles.x]\nkube = {{ kubeconfig = "{missing}" }}\n'
    )

    response = await get(jp_fetch, "schedules", raise_error=False)

    assert response.code == 400
    assert str(missing) in body(response)["message"]


async def test_the_demo_lists_no_schedules_and_says_they_need_a_live_cluster(
    jp_fetch: Any,
) -> None:
    listed = await get(jp_fetch, "schedules", raise_error=False)

    assert listed.code == 200  # the sidebar lists schedules on every load: no error there
    answer = body(listed)
    assert answer["schedules"] == []
    assert answer["unavailable"].startswith(
        "schedules need a live cluster, and profile 'demo' reads"
    )
    catalog = body(await get(jp_fetch, "runbooks"))
    assert catalog["executors"] == ["local"]  # the Run form offers no Kubernetes Job here


async def test_the_demo_says_schedules_and_jobs_need_a_live_cluster(jp_fetch: Any) -> None:
    created = await post(jp_fetch, "runbooks", "platform-smoke", "schedules",
                         data={"cron": "0 6 * * *"}, raise_error=False)  # fmt: skip
    submitted = await post(jp_fetch, "runbooks", "platform-smoke", "runs",
                           data={"executor": "kubernetes"}, raise_error=False)  # fmt: skip

    for response, what in ((created, "schedules"), (submitted, "Kubernetes runs")):
        assert response.code == 400
        message = body(response)["message"]
        assert message.startswith(f"{what} need a live cluster, and profile 'demo' reads")
        assert "kube.kubeconfig" in message
