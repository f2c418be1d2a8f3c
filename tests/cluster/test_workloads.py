"""CronJobs in `wb.cluster.workloads()`: their schedule, whether they are suspended, when
they last ran, what their Jobs' pods request, on the real API server and from a snapshot."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from hxb_lab.cluster import PartialReadWarning
from tests.cluster.conftest import live_workbench, snapshot_workbench

if TYPE_CHECKING:
    from tests.support.controlplane import ControlPlane

pytestmark = pytest.mark.kube

CRONJOBS = "/apis/batch/v1/namespaces/{ns}/cronjobs"
LAST_RUN = "2026-11-27T02:00:00Z"


def _cronjob(name: str, schedule: str, **spec: Any) -> dict[str, Any]:
    pod = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "eval",
                "image": "registry.example/eval:1.4",
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
                    "limits": {"nvidia.com/gpu": "1"},
                },
            }
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "schedule": schedule,
            **spec,
            "jobTemplate": {"spec": {"template": {"spec": pod}}},
        },
    }


@pytest.fixture
def cronjobs(control_plane: ControlPlane, kube_namespace: str) -> str:
    """In a fresh namespace: ``nightly-eval`` (Europe/Paris, one Job active, last run
    02:00 UTC) with the Job it created, and ``weekly-report`` (suspended, never run)."""
    path = CRONJOBS.format(ns=kube_namespace)
    nightly = control_plane.request(
        "POST", path, _cronjob("nightly-eval", "0 3 * * *", timeZone="Europe/Paris")
    )
    control_plane.request("POST", path, _cronjob("weekly-report", "@weekly", suspend=True))
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "nightly-eval-29400000",
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": "nightly-eval",
                    "uid": nightly["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": nightly["spec"]["jobTemplate"]["spec"],
    }
    control_plane.request("POST", f"/apis/batch/v1/namespaces/{kube_namespace}/jobs", job)
    active = [{"kind": "Job", "namespace": kube_namespace, "name": "nightly-eval-29400000"}]
    control_plane.request(
        "PATCH",
        f"{path}/nightly-eval/status",
        {"status": {"lastScheduleTime": LAST_RUN, "active": active}},
        content_type="application/merge-patch+json",
    )
    return kube_namespace


def test_cronjobs_show_schedule_suspension_last_run_and_requests(
    control_plane: ControlPlane, cronjobs: str
) -> None:
    wb = live_workbench(control_plane)
    work = wb.cluster.workloads(namespace=cronjobs).set_index("name")
    assert str(work["last_schedule"].dtype) == "datetime64[ns, UTC]"
    assert str(work["schedule"].dtype) == "str"
    nightly = work.loc["nightly-eval"]
    assert (nightly["kind"], nightly["status"]) == ("CronJob", "Active")
    assert nightly["schedule"] == "CRON_TZ=Europe/Paris 0 3 * * *"
    assert nightly["last_schedule"] == pd.Timestamp(LAST_RUN)
    # What each pod of its Jobs requests; the Job holds the GPUs, so the CronJob holds none.
    assert (nightly["cpu_requests"], nightly["memory_requests"]) == (0.5, 1024**3)
    assert (nightly["gpu_requests"], nightly["gpus_total"]) == (1, 0)
    counts = ("desired", "ready", "available", "updated")
    assert tuple(nightly[list(counts)]) == (0, 0, 1, 0)  # one active Job
    assert nightly["images"] == "registry.example/eval:1.4"
    weekly = work.loc["weekly-report"]
    assert (weekly["status"], weekly["schedule"]) == ("Suspended", "@weekly")
    assert pd.isna(weekly["last_schedule"])
    job = work.loc["nightly-eval-29400000"]
    assert (job["kind"], job["owner_kind"], job["owner_name"]) == ("Job", "CronJob", "nightly-eval")
    assert job["gpus_total"] == 1
    assert pd.isna(job["schedule"]) and pd.isna(job["last_schedule"])
    only = wb.cluster.workloads(namespace=cronjobs, selector="app=weekly-report")
    assert only["name"].tolist() == ["weekly-report"]


def test_a_snapshot_of_cronjobs_reads_back_the_same(
    control_plane: ControlPlane, cronjobs: str, tmp_path: Path
) -> None:
    live = live_workbench(control_plane)
    written = live.cluster.snapshot(tmp_path, kinds=["cronjobs", "jobs", "namespaces"])
    assert written["admin/cronjobs.batch.json"] >= 2
    offline = snapshot_workbench(tmp_path).cluster.workloads(namespace=cronjobs)
    online = live.cluster.workloads(namespace=cronjobs)
    assert len(offline) == 3
    pd.testing.assert_frame_equal(offline, online)


def test_a_user_with_access_to_one_namespace_reads_its_cronjobs(
    control_plane: ControlPlane, cronjobs: str
) -> None:
    control_plane.grant_namespace_access(cronjobs, create_namespace=False)
    wb = live_workbench(control_plane, "restricted", namespace=cronjobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialReadWarning)  # no namespaces: no workspace
        work = wb.cluster.workloads(namespace=cronjobs)
    assert set(work.loc[work["kind"] == "CronJob", "name"]) == {"nightly-eval", "weekly-report"}
