"""`wb.gitops` and `wb.policy`'s cluster reads on the large simulated platform (~10,000 pods)
as a snapshot, against loading the same ``kubectl get -A -o json`` files into Python dicts
(goal: all six reads together within 1.5x of the dicts they come from).

The simulator's story has a handful of Applications and pipeline runs; a platform with
10,000 pods keeps weeks of CI history, so the snapshot's Tekton lists are repeated to
2,000 PipelineRuns and 8,000 TaskRuns (names made unique) and every Application lists 50
managed objects, so the figure measures rows, not the fixed cost of a frame. The peer
parses each file those reads need once with the standard library's ``json``; ours builds
the six frames (a file two reads need is read twice, as a user calling both would).
"""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result, median_time

PIPELINE_RUNS = 2000
MANAGED_PER_APP = 50


def _grow(directory: Path) -> list[str]:
    """Repeat the Tekton runs and widen the Applications; returns the files the reads use."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((directory / name).read_bytes())
        return data

    runs, tasks = load("pipelineruns.tekton.dev.json"), load("taskruns.tekton.dev.json")
    base_runs, base_tasks = runs["items"], tasks["items"]
    grown_runs, grown_tasks = [], []
    for i in range(PIPELINE_RUNS // len(base_runs) + 1):
        for run in base_runs:
            name = f"{run['metadata']['name']}-{i}"
            clone = copy.deepcopy(run)
            clone["metadata"]["name"] = name
            grown_runs.append(clone)
            for task in base_tasks:
                if task["metadata"]["labels"]["tekton.dev/pipelineRun"] == run["metadata"]["name"]:
                    child = copy.deepcopy(task)
                    child["metadata"]["name"] = f"{task['metadata']['name']}-{i}"
                    child["metadata"]["labels"]["tekton.dev/pipelineRun"] = name
                    grown_tasks.append(child)
    runs["items"], tasks["items"] = grown_runs[:PIPELINE_RUNS], grown_tasks
    apps = load("applications.argoproj.io.json")
    for app in apps["items"]:
        ns = app["spec"]["destination"]["namespace"]
        app["status"]["resources"] = [
            {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns,
             "name": f"svc-{k}", "status": "Synced", "health": {"status": "Healthy"}}
            for k in range(MANAGED_PER_APP)
        ]  # fmt: skip
    for name, data in (
        ("pipelineruns.tekton.dev.json", runs),
        ("taskruns.tekton.dev.json", tasks),
        ("applications.argoproj.io.json", apps),
    ):
        (directory / name).write_text(json.dumps(data))
    constraints = sorted(p.name for p in directory.glob("*.constraints.gatekeeper.sh.json"))
    return [
        "namespaces.json",
        "applications.argoproj.io.json",
        "pipelineruns.tekton.dev.json",
        "taskruns.tekton.dev.json",
        "constrainttemplates.templates.gatekeeper.sh.json",
        *constraints,
    ]


def run() -> Iterator[Result]:
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.demo.cluster.simulate import simulate
    from hxb_lab.workbench import Workbench

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        simulate("large", 7, datetime.now(UTC)).write_snapshot(root / "demo")
        directory = root / "demo"
        files = _grow(directory)
        wb = Workbench(Profile(name="bench", kube=KubeConfig(snapshot=str(root))))
        rows: dict[str, int] = {}

        def ours() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for facade, read in (
                    (wb.gitops, "applications"),
                    (wb.gitops, "managed_objects"),
                    (wb.gitops, "pipeline_runs"),
                    (wb.gitops, "task_runs"),
                    (wb.policy, "constraints"),
                    (wb.policy, "violations"),
                ):
                    rows[read] = len(getattr(facade, read)())

        def peer() -> None:
            for name in files:
                json.loads((directory / name).read_bytes())

        ours()
        counted = ", ".join(f"{n} {read}" for read, n in rows.items())
        yield Result(
            f"gitops and policy, 6 reads ({counted})",
            median_time(ours, repeat=3),
            median_time(peer, repeat=3),
            "json.loads of its files",
            goal="ratio >= 0.67 (within 1.5x)",
        )
