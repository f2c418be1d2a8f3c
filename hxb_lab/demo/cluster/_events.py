"""The simulator's events: what the scheduler, kubelets and controllers would have said
about the platform's nodes, pods, jobs and inference services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._pods import event

if TYPE_CHECKING:
    from hxb_lab.demo.cluster.simulate import _Simulation

__all__ = ["tell_events"]

Obj = dict[str, Any]


def tell_events(sim: _Simulation) -> None:
    b = sim.b
    now = sim.now
    add = sim.add
    default_ns = "default"  # cluster-scoped objects have their events there
    for node in sim.platform["nodes"]:
        name = node["metadata"]["name"]
        if node["spec"].get("unschedulable"):
            add(
                "events",
                event(
                    b,
                    node,
                    "Normal",
                    "NodeNotSchedulable",
                    f"Node {name} status is now: NodeNotSchedulable",
                    now - timedelta(hours=5),
                    host=name,
                    namespace=default_ns,
                ),
            )
        if not any(
            c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"]
        ):
            add(
                "events",
                event(
                    b,
                    node,
                    "Normal",
                    "NodeNotReady",
                    f"Node {name} status is now: NodeNotReady",
                    now - timedelta(minutes=46),
                    component="node-controller",
                    namespace=default_ns,
                ),
            )
    for p in sim.platform["pods"]:
        meta, status = p["metadata"], p["status"]
        name, ns = meta["name"], meta["namespace"]
        node = p["spec"].get("nodeName")
        started = now - timedelta(hours=1)
        if status["phase"] == "Pending":
            message = status["conditions"][0].get("message", "")
            add(
                "events",
                event(
                    b,
                    p,
                    "Warning",
                    "FailedScheduling",
                    message,
                    now - timedelta(seconds=b.rng.randint(10, 120)),
                    first=_created(p),
                    count=b.rng.randint(5, 40),
                    component="default-scheduler",
                ),
            )
            continue
        for cs in status.get("containerStatuses", []):
            waiting = cs.get("state", {}).get("waiting", {})
            terminated = cs.get("state", {}).get("terminated", {})
            if (
                waiting.get("reason") == "CrashLoopBackOff"
                or terminated.get("reason") == "OOMKilled"
            ):
                add(
                    "events",
                    event(
                        b,
                        p,
                        "Warning",
                        "BackOff",
                        f"Back-off restarting failed container {cs['name']} in pod "
                        f"{name}_{ns}({meta['uid']})",
                        now - timedelta(seconds=b.rng.randint(5, 60)),
                        first=_created(p),
                        count=cs["restartCount"] * 3,
                        host=node,
                    ),
                )
        if (
            p["metadata"]["labels"].get("serving.kserve.io/inferenceservice")
            == scenario.FAILING_DEPLOYMENT.target
        ):
            add(
                "events",
                event(
                    b,
                    p,
                    "Warning",
                    "Unhealthy",
                    "Readiness probe failed: HTTP probe failed with statuscode: 503",
                    now - timedelta(seconds=b.rng.randint(5, 60)),
                    first=_created(p),
                    count=b.rng.randint(30, 90),
                    host=node,
                ),
            )
        if _created(p) >= started and status["phase"] == "Running":
            at = _created(p)
            add(
                "events",
                event(
                    b,
                    p,
                    "Normal",
                    "Scheduled",
                    f"Successfully assigned {ns}/{name} to {node}",
                    at,
                    component="default-scheduler",
                ),
            )
            for reason, message in (
                ("Pulled", "Container image already present on machine"),
                ("Created", "Created container"),
                ("Started", "Started container"),
            ):
                at += timedelta(seconds=2)
                add("events", event(b, p, "Normal", reason, message, at, host=node))
    for job in sim.platform["jobs.batch"]:
        for cond in job["status"].get("conditions", []):
            when = _parse(cond["lastTransitionTime"])
            if cond["type"] == "Complete":
                add(
                    "events",
                    event(
                        b,
                        job,
                        "Normal",
                        "Completed",
                        "Job completed",
                        when,
                        component="job-controller",
                    ),
                )
            if cond["type"] == "Failed":
                add(
                    "events",
                    event(
                        b,
                        job,
                        "Warning",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        when,
                        component="job-controller",
                    ),
                )
    for isvc in sim.platform["inferenceservices.serving.kserve.io"]:
        name = isvc["metadata"]["name"]
        if name == scenario.FAILING_DEPLOYMENT.target:
            failure = isvc["status"]["modelStatus"]["lastFailureInfo"]
            add(
                "events",
                event(
                    b,
                    isvc,
                    "Warning",
                    "ModelLoadFailed",
                    failure["message"],
                    now - timedelta(minutes=2),
                    first=now - scenario.FAILING_DEPLOYMENT.starts_before_now,
                    count=b.rng.randint(10, 30),
                    component="kserve-controller",
                ),
            )
        if name == scenario.CANARY_ROLLOUT.target:
            at = now - scenario.CANARY_ROLLOUT.starts_before_now
            add(
                "events",
                event(
                    b,
                    isvc,
                    "Normal",
                    "CanaryRollout",
                    f"Rolling out {name} v{scenario.DEPLOYMENTS[0].version + 1} to "
                    f"{round(scenario.CANARY_ROLLOUT.factor * 100)}% of the traffic",
                    at,
                    component="kserve-controller",
                ),
            )
    for deploy in sim.platform["deployments.apps"]:
        if deploy["metadata"]["name"].startswith(
            f"{scenario.CANARY_ROLLOUT.target}-predictor-"
        ) and deploy["metadata"]["labels"].get("hxb.io/model-version") == str(
            scenario.DEPLOYMENTS[0].version + 1
        ):
            at = now - scenario.CANARY_ROLLOUT.starts_before_now
            add(
                "events",
                event(
                    b,
                    deploy,
                    "Normal",
                    "ScalingReplicaSet",
                    f"Scaled up replica set {deploy['metadata']['name']} to "
                    f"{deploy['spec']['replicas']}",
                    at,
                    component="deployment-controller",
                ),
            )


def _created(p: Obj) -> Any:
    return _parse(p["metadata"]["creationTimestamp"])


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
