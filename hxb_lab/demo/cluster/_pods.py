"""Pods, controllers and events of the simulator, in the shapes the API server returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hxb_lab.demo.cluster._builder import Builder, Placement, condition, owner_ref, ts

__all__ = ["Container", "PodState", "controller", "event", "pod", "pod_ready"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    resources: Obj
    port: int | None = None


@dataclass(frozen=True)
class PodState:
    """How a simulated pod is doing: running, crashloop, oomkilled, pending, succeeded,
    failed or stale (on a NotReady node)."""

    kind: str = "running"
    restarts: int = 0
    message: str = ""


def _container_status(
    b: Builder, c: Container, state: PodState, started: datetime, node: Placement | None
) -> Obj:
    digest = f"{b.rng.getrandbits(256):064x}"
    out: Obj = {
        "name": c.name,
        "image": c.image,
        "imageID": f"{c.image.split(':')[0]}@sha256:{digest}",
        "containerID": f"containerd://{b.rng.getrandbits(256):064x}",
        "restartCount": state.restarts,
        "ready": state.kind == "running",
        "started": state.kind in ("running", "stale"),
    }
    last_start = started + timedelta(seconds=30)
    if state.kind in ("running", "stale"):
        out["state"] = {"running": {"startedAt": ts(last_start)}}
    elif state.kind == "crashloop":
        out["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={c.name}",
            }
        }
        out["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "message": state.message or None,
                "startedAt": ts(b.now - timedelta(minutes=6)),
                "finishedAt": ts(b.now - timedelta(minutes=5)),
                "containerID": out["containerID"],
            }
        }
        if not state.message:
            del out["lastState"]["terminated"]["message"]
    elif state.kind == "oomkilled":
        killed = {
            "exitCode": 137,
            "reason": "OOMKilled",
            "startedAt": ts(b.now - timedelta(minutes=3)),
            "finishedAt": ts(b.now - timedelta(minutes=1)),
            "containerID": out["containerID"],
        }
        out["state"] = {"terminated": killed}
        out["lastState"] = {
            "terminated": {
                **killed,
                "startedAt": ts(b.now - timedelta(minutes=9)),
                "finishedAt": ts(b.now - timedelta(minutes=7)),
            }
        }
    else:  # succeeded / failed
        code, reason = (0, "Completed") if state.kind == "succeeded" else (1, "Error")
        out["state"] = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": ts(last_start),
                "finishedAt": ts(last_start + timedelta(minutes=b.rng.randint(5, 90))),
                "containerID": out["containerID"],
            }
        }
    return out


def _sidecar(state: PodState) -> PodState:
    """Sidecars (queue-proxy, agents) keep running while the main container crashes."""
    return PodState() if state.kind in ("crashloop", "oomkilled") else PodState(state.kind)


def pod(
    b: Builder,
    name: str,
    namespace: str,
    owner: Obj | None,
    labels: Mapping[str, str],
    containers: Sequence[Container],
    node: Placement | None,
    state: PodState,
    started: datetime,
    *,
    node_ip: str = "",
    pod_ip: str = "",
    node_selector: Mapping[str, str] | None = None,
    tolerations: Sequence[Obj] = (),
    unschedulable_message: str = "",
    restart_policy: str = "Always",
) -> Obj:
    spec: Obj = {
        "containers": [
            {
                "name": c.name,
                "image": c.image,
                "resources": c.resources,
                **({"ports": [{"containerPort": c.port, "protocol": "TCP"}]} if c.port else {}),
            }
            for c in containers
        ],
        "restartPolicy": restart_policy,
        "schedulerName": "default-scheduler",
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = list(tolerations)
    if node is not None:
        spec["nodeName"] = node.name
    meta = b.meta(name, namespace, started, labels)
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    status: Obj
    if state.kind == "pending":
        status = {
            "phase": "Pending",
            "conditions": [
                condition("PodScheduled", False, started, "Unschedulable", unschedulable_message)
            ],
        }
    else:
        ready = state.kind == "running"
        finished = state.kind in ("succeeded", "failed")
        phase = {"succeeded": "Succeeded", "failed": "Failed"}.get(state.kind, "Running")
        not_ready = "PodCompleted" if finished else "ContainersNotReady"
        status = {
            "phase": phase,
            "conditions": [
                condition("PodReadyToStartContainers", not finished, started),
                condition("Initialized", True, started, "PodCompleted" if finished else ""),
                condition("Ready", ready, started, "" if ready else not_ready),
                condition("ContainersReady", ready, started, "" if ready else not_ready),
                condition("PodScheduled", True, started),
            ],
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": ts(started),
            "containerStatuses": [
                _container_status(b, c, state if i == 0 else _sidecar(state), started, node)
                for i, c in enumerate(containers)
            ],
        }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def controller(
    b: Builder,
    kind: str,
    name: str,
    namespace: str,
    created: datetime,
    labels: Mapping[str, str],
    containers: Sequence[Container],
    replicas: int,
    ready: int,
    *,
    owner: Obj | None = None,
    annotations: Mapping[str, str] | None = None,
    pod_spec: Mapping[str, Any] | None = None,
) -> Obj:
    """A Deployment, ReplicaSet, StatefulSet or DaemonSet with its status."""
    api = "apps/v1"
    selector = {"matchLabels": dict(labels)}
    template = {
        "metadata": {"labels": dict(labels)},
        "spec": {
            "containers": [
                {"name": c.name, "image": c.image, "resources": c.resources} for c in containers
            ],
            **(pod_spec or {}),
        },
    }
    spec: Obj = {"selector": selector, "template": template}
    status: Obj
    if kind == "DaemonSet":
        status = {
            "currentNumberScheduled": replicas,
            "desiredNumberScheduled": replicas,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "updatedNumberScheduled": replicas,
            "observedGeneration": 1,
        }
        if replicas - ready:
            status["numberUnavailable"] = replicas - ready
    else:
        spec["replicas"] = replicas
        status = {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if kind == "StatefulSet":
            spec["serviceName"] = name
            status.update(currentReplicas=replicas, updatedReplicas=replicas)
        elif kind == "ReplicaSet":
            status["fullyLabeledReplicas"] = replicas
        else:
            status["updatedReplicas"] = replicas
            if replicas - ready:
                status["unavailableReplicas"] = replicas - ready
            status["conditions"] = [
                condition(
                    "Available",
                    ready > 0,
                    created,
                    "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                    "Deployment has minimum availability."
                    if ready
                    else "Deployment does not have minimum availability.",
                ),
                condition(
                    "Progressing",
                    True,
                    created,
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}" has successfully progressed.',
                ),
            ]
        for key in ("readyReplicas", "availableReplicas"):
            if not status[key]:
                del status[key]
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": b.meta(name, namespace, created, labels, owner, annotations),
        "spec": spec,
        "status": status,
    }


def event(
    b: Builder,
    involved: Obj,
    kind: str,
    reason: str,
    message: str,
    last: datetime,
    *,
    first: datetime | None = None,
    count: int = 1,
    component: str = "kubelet",
    host: str | None = None,
    namespace: str | None = None,
) -> Obj:
    meta = involved["metadata"]
    ns = meta.get("namespace") or namespace or "default"
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{b.rng.getrandbits(64):016x}",
            "namespace": ns,
            "uid": b.uid(),
            "creationTimestamp": ts(first or last),
        },
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
            "uid": meta["uid"],
        },
        "type": kind,
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": ts(first or last),
        "lastTimestamp": ts(last),
        "source": source,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }


def pod_ready(p: Obj) -> bool:
    """Whether a simulated pod's Ready condition is True."""
    conditions = p["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
