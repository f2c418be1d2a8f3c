"""How the demo platform is delivered and guarded: Argo CD Applications (one OutOfSync,
one Degraded whose last sync Gatekeeper refused), Tekton runs (one failed at its smoke
test), Gatekeeper's templates and constraints with the audit's violations."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster._resources import CONSTRAINTS_GROUP
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import ts

if TYPE_CHECKING:
    from hxb_lab.demo.cluster.simulate import _Simulation

__all__ = ["applications", "constraints", "pipeline_runs"]

Obj = dict[str, Any]
REPO = "https://git.hxb.example/platform/deploy.git"
REGISTRY = "registry.hxb.example"
#: The constraint whose denial the Degraded Application's last sync reports.
OWNER_CONSTRAINT = "gpu-workloads-need-owner"
OWNER_DENIAL = (
    f'admission webhook "validation.gatekeeper.sh" denied the request: [{OWNER_CONSTRAINT}] '
    'you must provide labels: {"hxb.io/owner"}'
)


def _serving(sim: _Simulation, namespace: str) -> list[tuple[str, str, str]]:
    """(group, kind, name) of the serving objects in `namespace`."""
    found = []
    for plural, group, kind in (
        ("inferenceservices.serving.kserve.io", "serving.kserve.io", "InferenceService"),
        ("models.mlops.seldon.io", "mlops.seldon.io", "Model"),
    ):
        for obj in sim.platform[plural]:
            if obj["metadata"]["namespace"] == namespace:
                found.append((group, kind, obj["metadata"]["name"]))
    return found


def applications(sim: _Simulation) -> None:
    """One Application per workspace (and platform, monitoring), each managing the serving
    objects of its namespace with automated sync. `assistant` is OutOfSync (llm-chat's
    canary was started by hand, not in Git); `vision` is Degraded (image-tagger cannot load
    its model) and its last sync failed: Gatekeeper refused a Deployment without owner."""
    b = sim.b
    canary, failing = scenario.CANARY_ROLLOUT.target, scenario.FAILING_DEPLOYMENT.target
    for ns in [*sim.workspaces, sim.ns("platform"), sim.ns("monitoring")]:
        name = ns.removeprefix(sim.prefix)
        revision = f"{b.rng.getrandbits(160):040x}"
        at = b.ago(timedelta(minutes=1), timedelta(minutes=5))
        resources: list[Obj] = []
        for group, kind, obj_name in _serving(sim, ns):
            drifted = obj_name == canary
            broken = obj_name == failing
            health: Obj = {"status": "Degraded" if broken else "Healthy"}
            if broken:
                health["message"] = "predictor: model failed to load (CUDA out of memory)"
            resources.append(
                {
                    "group": group,
                    "version": "v1beta1" if group == "serving.kserve.io" else "v1alpha1",
                    "kind": kind,
                    "namespace": ns,
                    "name": obj_name,
                    "status": "OutOfSync" if drifted else "Synced",
                    "health": health,
                }
            )
        status: Obj = {
            "sync": {
                "status": "OutOfSync"
                if any(r["status"] == "OutOfSync" for r in resources)
                else "Synced",
                "revision": revision,
                "comparedTo": {
                    "source": {"repoURL": REPO, "path": f"workspaces/{name}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                },
            },
            "health": {
                "status": "Degraded"
                if any(r["health"]["status"] == "Degraded" for r in resources)
                else "Healthy",
                "lastTransitionTime": ts(at),
            },
            "reconciledAt": ts(at),
            "sourceType": "Kustomize",
            "resources": resources,
            "operationState": {
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "startedAt": ts(at - timedelta(seconds=20)),
                "finishedAt": ts(at - timedelta(seconds=12)),
                "operation": {"sync": {"revision": revision}},
            },
        }
        if any(r["name"] == failing for r in resources):
            status["operationState"].update(
                phase="Failed",
                message=f"one or more objects failed to apply, reason: {OWNER_DENIAL}",
            )
        sim.add(
            "applications.argoproj.io",
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": b.meta(
                    name, sim.ns("argocd"), b.ago(timedelta(days=60), timedelta(days=200))
                ),
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": REPO,
                        "path": f"workspaces/{name}",
                        "targetRevision": "main",
                    },
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
                },
                "status": status,
            },
        )


def _condition(state: str, reason: str, message: str, at: str) -> list[Obj]:
    return [
        {
            "type": "Succeeded",
            "status": state,
            "reason": reason,
            "message": message,
            "lastTransitionTime": at,
        }
    ]


#: (workspace, pipeline, model, version, age, minutes it took or None while running, the
#: task that failed or None)
RUNS = (
    ("assistant", "build-model-server", "llm-chat", 8, timedelta(hours=3), 14.5, None),
    ("assistant", "build-model-server", "llm-chat", 7, timedelta(days=9), 13.2, None),
    ("search", "build-model-server", "reranker", 4, timedelta(days=2), 9.8, None),
    ("vision", "build-model-server", "image-tagger", 3, timedelta(minutes=50), 6.1, "smoke-test"),
    ("risk", "train-and-register", "fraud-scorer", 12, timedelta(minutes=25), None, None),
)
TASKS = ("clone", "build-image", "smoke-test", "register-model")


def pipeline_runs(sim: _Simulation) -> None:
    """A few Tekton PipelineRuns and their TaskRuns in the workspaces: builds that
    succeeded (with the image and model version they built), image-tagger's build that
    failed at its smoke test (the model does not fit the GPU), a training run going on."""
    b = sim.b
    ws = dict(zip(scenario.WORKSPACES, sim.workspaces, strict=False))
    for workspace, pipeline, model, version, age, minutes, failed in RUNS:
        ns = ws.get(workspace)
        if ns is None:
            continue
        run = f"{pipeline}-{model}-{b.suffix()}"
        started = b.now - age
        image = f"{REGISTRY}/{workspace}/{model}:v{version}"
        digest = f"sha256:{b.rng.getrandbits(256):064x}"
        labels = {"tekton.dev/pipeline": pipeline, "hxb.io/model": model}
        labels["hxb.io/model-version"] = str(version)
        pr_status: Obj = {"startTime": ts(started), "childReferences": []}
        t = started
        for task in TASKS:
            took = timedelta(minutes=(minutes or 20) / len(TASKS))
            tr_name = f"{run}-{task}"
            done = minutes is not None or task in ("clone", "build-image")
            fails = task == failed
            steps = [
                {
                    "name": step,
                    "container": f"step-{step}",
                    "terminated": {
                        "exitCode": 1 if fails and step == "run" else 0,
                        "reason": "Error" if fails and step == "run" else "Completed",
                        "startedAt": ts(t),
                        "finishedAt": ts(t + took),
                    },
                }
                for step in ("prepare", "run")
            ]
            tr_status: Obj = {
                "podName": f"{tr_name}-pod",
                "startTime": ts(t),
                "steps": steps if done else [],
            }
            if done:
                tr_status["completionTime"] = ts(t + took)
                tr_status["conditions"] = (
                    _condition("False", "Failed", '"step-run" exited with code 1', ts(t + took))
                    if fails
                    else _condition(
                        "True", "Succeeded", "All Steps have completed executing", ts(t + took)
                    )
                )
            else:
                tr_status["conditions"] = _condition(
                    "Unknown", "Running", "Not all Steps in the Task have finished executing", ts(t)
                )
            if task == "build-image" and done:
                tr_status["results"] = [
                    {"name": "IMAGE_URL", "type": "string", "value": image},
                    {"name": "IMAGE_DIGEST", "type": "string", "value": digest},
                ]
            sim.add(
                "taskruns.tekton.dev",
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "metadata": b.meta(
                        tr_name,
                        ns,
                        t,
                        labels={
                            **labels,
                            "tekton.dev/pipelineRun": run,
                            "tekton.dev/pipelineTask": task,
                            "tekton.dev/task": task,
                        },
                    ),
                    "spec": {"taskRef": {"name": task, "kind": "Task"}},
                    "status": tr_status,
                },
            )
            pr_status["childReferences"].append(
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "name": tr_name,
                    "pipelineTaskName": task,
                }
            )
            t += took
            if fails or not done:
                break
        if minutes is None:
            pr_status["conditions"] = _condition(
                "Unknown",
                "Running",
                "Tasks Completed: 2 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0",
                ts(started),
            )
        elif failed:
            pr_status["completionTime"] = ts(t)
            pr_status["conditions"] = _condition(
                "False", "Failed", "Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 1", ts(t)
            )
        else:
            pr_status["completionTime"] = ts(t)
            pr_status["conditions"] = _condition(
                "True",
                "Succeeded",
                "Tasks Completed: 4 (Failed: 0, Cancelled 0), Skipped: 0",
                ts(t),
            )
            pr_status["results"] = [
                {"name": "MODEL_NAME", "value": model},
                {"name": "MODEL_VERSION", "value": str(version)},
            ]
        sim.add(
            "pipelineruns.tekton.dev",
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "PipelineRun",
                "metadata": b.meta(run, ns, started, labels=labels),
                "spec": {"pipelineRef": {"name": pipeline}},
                "status": pr_status,
            },
        )


def _template(sim: _Simulation, kind: str, rego: str) -> None:
    b = sim.b
    sim.add(
        "constrainttemplates.templates.gatekeeper.sh",
        {
            "apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate",
            "metadata": b.meta(kind.lower(), None, b.ago(timedelta(days=120))),
            "spec": {
                "crd": {"spec": {"names": {"kind": kind}}},
                "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": rego}],
            },
            "status": {"created": True},
        },
    )


def constraints(sim: _Simulation) -> None:
    """Two ConstraintTemplates and a constraint of each, with the audit's findings: GPU
    workloads must carry an owner label (deny; the notebooks have none), images must come
    from the platform's registries (dryrun; the notebooks pull from quay.io)."""
    b = sim.b
    _template(
        sim, "K8sRequiredLabels", 'package k8srequiredlabels\nviolation[{"msg": msg}] { false }\n'
    )
    _template(
        sim, "K8sAllowedRepos", 'package k8sallowedrepos\nviolation[{"msg": msg}] { false }\n'
    )
    audited = ts(b.ago(timedelta(minutes=2)))
    notebooks = [
        p
        for p in sim.platform["pods"]
        if (p["metadata"].get("labels") or {}).get("hxb.io/kind") == "notebook"
        or p["metadata"]["name"] == scenario.FORGOTTEN_NOTEBOOK.pod
    ]
    owner = [
        {
            "enforcementAction": "deny",
            "group": "",
            "version": "v1",
            "kind": "Pod",
            "namespace": p["metadata"]["namespace"],
            "name": p["metadata"]["name"],
            "message": 'you must provide labels: {"hxb.io/owner"}',
        }
        for p in notebooks
    ]
    repos = [
        {
            "enforcementAction": "dryrun",
            "group": "",
            "version": "v1",
            "kind": "Pod",
            "namespace": p["metadata"]["namespace"],
            "name": p["metadata"]["name"],
            "message": f"container <notebook> has an invalid image repo "
            f"<{p['spec']['containers'][0]['image']}>, allowed repos are "
            f'["{REGISTRY}/", "nvcr.io/nvidia/"]',
        }
        for p in notebooks
    ]
    for kind, name, action, params, found in (
        (
            "K8sRequiredLabels",
            OWNER_CONSTRAINT,
            "deny",
            {"labels": [{"key": "hxb.io/owner"}]},
            owner,
        ),
        (
            "K8sAllowedRepos",
            "images-from-platform-registries",
            "dryrun",
            {"repos": [f"{REGISTRY}/", "nvcr.io/nvidia/"]},
            repos,
        ),
    ):
        sim.add(
            f"{kind.lower()}.{CONSTRAINTS_GROUP}",
            {
                "apiVersion": f"{CONSTRAINTS_GROUP}/v1beta1",
                "kind": kind,
                "metadata": b.meta(name, None, b.ago(timedelta(days=90))),
                "spec": {
                    "enforcementAction": action,
                    "match": {
                        "kinds": [{"apiGroups": ["", "apps"], "kinds": ["Pod", "Deployment"]}]
                    },
                    "parameters": params,
                },
                "status": {
                    "auditTimestamp": audited,
                    "totalViolations": len(found),
                    "violations": found[:20],
                },
            },
        )
