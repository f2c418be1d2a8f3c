"""GitOps and guard-rail frames on the demo snapshot: pinned columns, the story each one
tells, and the add-on kinds a cluster may lack, be forbidden or hold in another version."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.cluster.optional import AbsentKindWarning
from hxb_lab.config import KubeConfig, Profile
from hxb_lab.gitops.applications import APPLICATION_COLUMNS, MANAGED_COLUMNS
from hxb_lab.gitops.pipelines import PIPELINE_RUN_COLUMNS, TASK_RUN_COLUMNS
from hxb_lab.policy.falco import FALCO_COLUMNS
from hxb_lab.policy.gatekeeper import CONSTRAINT_COLUMNS, VIOLATION_COLUMNS
from hxb_lab.warn import PartialReadWarning
from hxb_lab.workbench import Workbench


@pytest.fixture
def demo(demo_env: Path) -> Workbench:
    return hx.connect()


def _columns(schema: Any) -> list[str]:
    return [name for name, _ in schema]


def test_the_demo_applications_show_the_drift_and_the_refused_sync(demo: Workbench) -> None:
    frame = demo.gitops.applications()
    assert list(frame.columns) == _columns(APPLICATION_COLUMNS)
    apps = frame.set_index("name")
    assert apps.loc["assistant", "sync_status"] == "OutOfSync"
    assert apps.loc["assistant", "out_of_sync"] == 1
    assert apps.loc["vision", "health_status"] == "Degraded"
    assert apps.loc["vision", "last_sync_phase"] == "Failed"
    assert "[gpu-workloads-need-owner]" in apps.loc["vision", "last_sync_error"]
    assert apps["automated"].all() and apps.loc["vision", "workspace"] == "vision"
    assert apps.loc["vision", "repo"] == "https://git.hxb.example/platform/deploy.git"

    managed = demo.gitops.managed_objects("assistant")
    assert list(managed.columns) == _columns(MANAGED_COLUMNS)
    drifted = managed[managed["sync_status"] == "OutOfSync"]
    assert drifted[["kind", "name"]].values.tolist() == [["InferenceService", "llm-chat"]]


def test_the_demo_pipeline_runs_name_the_failed_step_and_what_was_built(
    demo: Workbench,
) -> None:
    runs = demo.gitops.pipeline_runs()
    assert list(runs.columns) == _columns(PIPELINE_RUN_COLUMNS)
    assert runs["status"].value_counts().to_dict() == {"Succeeded": 3, "Failed": 1, "Running": 1}
    failed = runs[runs["status"] == "Failed"].iloc[0]
    assert (failed["namespace"], failed["failed_task"], failed["failed_step"]) == (
        "vision",
        "smoke-test",
        "run",
    )
    built = runs[(runs["model"] == "llm-chat") & (runs["model_version"] == "8")].iloc[0]
    assert built["image"].startswith("registry.hxb.example/assistant/llm-chat:v8@sha256:")
    assert built["duration_ms"] == pytest.approx(14.5 * 60_000, rel=0.01)

    tasks = demo.gitops.task_runs(namespace="vision")
    assert list(tasks.columns) == _columns(TASK_RUN_COLUMNS)
    step = tasks[tasks["status"] == "Failed"].iloc[0]
    assert (step["task"], step["failed_step"], step["exit_code"]) == ("smoke-test", "run", 1)


def test_the_demo_policy_reads_gatekeepers_audit_and_falcos_alerts(demo: Workbench) -> None:
    constraints = demo.policy.constraints()
    assert list(constraints.columns) == _columns(CONSTRAINT_COLUMNS)
    assert set(constraints["enforcement_action"]) == {"deny", "dryrun"}
    violations = demo.policy.violations()
    assert list(violations.columns) == _columns(VIOLATION_COLUMNS)
    kim = violations[violations["name"] == "notebook-kim-0"]
    assert set(kim["constraint"]) == {"gpu-workloads-need-owner", "images-from-platform-registries"}
    assert set(kim["workspace"]) == {"risk"}

    alerts = demo.policy.falco_events()
    assert list(alerts.columns) == _columns(FALCO_COLUMNS)
    critical = demo.policy.falco_events(priority="critical")
    assert len(critical) == 1 and len(alerts) == 3
    row = critical.iloc[0]
    assert (row["rule"], row["pod"], row["workspace"]) == (
        "Drop and execute new binary in container",
        "notebook-kim-0",
        "risk",
    )
    assert (row["workload_kind"], row["workload_name"]) == ("StatefulSet", "notebook-kim")
    with pytest.raises(hx.errors.ParameterError, match="priority: 'loud' is not a Falco"):
        demo.policy.falco_events(priority="loud")


def test_a_change_to_an_object_argo_cd_syncs_says_where_to_change_it(demo: Workbench) -> None:
    change = demo.inference.scale("llm-chat", max_replicas=8)
    assert change.reverted
    assert change.gitops == (
        "managed by Argo CD Application argocd/assistant with automated sync: this change "
        "will be reverted at once (self-heal); change it in Git: "
        "https://git.hxb.example/platform/deploy.git/workspaces/assistant@main"
    )
    assert str(change).endswith(f"note: {change.gitops}\n")
    assert "&#9888; managed by Argo CD Application argocd/assistant" in change._repr_html_()


# ------------------------------------------------------------------ bad input
def _snapshot(directory: Path, files: dict[str, list[dict[str, Any]]]) -> Workbench:
    directory.mkdir(parents=True, exist_ok=True)
    for name, items in {"namespaces.json": [], "pods.json": [], **files}.items():
        (directory / name).write_text(json.dumps({"kind": "List", "items": items}))
    return Workbench(Profile(name="snap", kube=KubeConfig(snapshot=str(directory))))


def test_a_cluster_without_the_add_ons_gives_empty_frames_and_one_note_each(
    tmp_path: Path,
) -> None:
    wb = _snapshot(tmp_path / "bare", {})
    for read, kind, crd in (
        (wb.gitops.applications, "Application", "applications.argoproj.io"),
        (wb.gitops.pipeline_runs, "PipelineRun", "pipelineruns.tekton.dev"),
        (wb.gitops.task_runs, "TaskRun", "taskruns.tekton.dev"),
        (
            wb.policy.violations,
            "ConstraintTemplate",
            "constrainttemplates.templates.gatekeeper.sh",
        ),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = read()
        assert frame.empty
        assert [str(w.message) for w in caught] == [
            f"snapshot 'bare' has no {kind} list ({crd}.json): the cluster has no {crd} "
            "CRD, or the snapshot was taken without it"
        ]
        assert all(w.category is AbsentKindWarning for w in caught) and len(caught) == 1


def test_unknown_versions_and_missing_status_warn_once_and_keep_the_rest(
    tmp_path: Path,
) -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "ok", "namespace": "argocd"},
        "spec": {"source": {"repoURL": "https://git.example/x.git", "path": "a"}},
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }
    future = {
        **app,
        "apiVersion": "argoproj.io/v2",
        "metadata": {"name": "new", "namespace": "argocd"},
    }
    run = {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": "queued", "namespace": "ci"},
        "spec": {"pipelineRef": {"name": "build"}},
    }
    wb = _snapshot(
        tmp_path / "odd",
        {
            "applications.argoproj.io.json": [app, future],
            "pipelineruns.tekton.dev.json": [run],
            "taskruns.tekton.dev.json": [],
        },
    )
    with pytest.warns(PartialReadWarning) as caught:
        apps = wb.gitops.applications()
    assert apps["name"].tolist() == ["ok"]
    assert [str(w.message) for w in caught] == [
        "snapshot 'odd' holds Application objects of argoproj.io/v2, which HXB Lab does not "
        "read (argoproj.io/v1alpha1): those are left out"
    ]
    with pytest.warns(
        PartialReadWarning, match=r"1 PipelineRun object\(s\) have no status yet \(ci/queued\)"
    ):
        runs = wb.gitops.pipeline_runs()
    assert runs[["name", "pipeline", "status"]].values.tolist() == [["queued", "build", ""]]
