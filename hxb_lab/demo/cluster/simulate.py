"""A realistic, deterministic (seeded) HXB platform: nodes, workspaces, workloads, pods,
inference services and events, written to a snapshot directory or to an API server.

The demo's story comes from `hxb_lab.demo.scenario`: its workspaces, the 12 inference
deployments (KServe InferenceServices in serverless mode, one revision Deployment each,
and Seldon Models served by an ``mlserver`` StatefulSet), the canary of llm-chat and the
model-load failure of image-tagger. Around them: CPU and GPU node pools labelled as GPU
Feature Discovery labels them (H100, A100, L4 and one A100 node with
``nvidia.com/mig.strategy=mixed``), a cordoned and a NotReady node, system DaemonSets,
training Jobs (one pending for want of GPUs), crash-looping and OOM-killed pods, quotas
and events.

Predictor pods carry ``serving.kserve.io/inferenceservice=<name>``, ``component=predictor``
and ``hxb.io/model``/``hxb.io/model-version``; Seldon server pods
``seldon-server-name=mlserver``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster._resources import CONSTRAINTS_GROUP, constraint_kind, resource
from hxb_lab.cluster.snapshot import write_list
from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import Builder, Placement, Scheduler, request_numbers, resources
from hxb_lab.demo.cluster._nodes import NODE_POOLS, SIZES, Size, make_node
from hxb_lab.demo.cluster._pods import Container, PodState, controller, pod, pod_ready
from hxb_lab.demo.cluster._story import tell
from hxb_lab.demo.cluster._write import apply_platform
from hxb_lab.errors import ConfigError

if TYPE_CHECKING:
    from hxb_lab.clients.kube import KubeContext
    from hxb_lab.demo import SeedContext

__all__ = ["Platform", "seed_demo", "simulate"]

Obj = dict[str, Any]
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
DS_TOLERATIONS = [{"operator": "Exists"}]


@dataclass
class Platform:
    """The simulated objects of one cluster, by resource (``pods``, ``deployments.apps``...)."""

    cluster: str
    now: datetime
    objects: dict[str, list[Obj]] = field(default_factory=lambda: defaultdict(list))

    def __getitem__(self, kind: str) -> list[Obj]:
        return self.objects.get(kind, [])

    def summary(self) -> str:
        nodes = self["nodes"]
        gpus = sum(int(n["status"]["capacity"].get("nvidia.com/gpu", 0)) for n in nodes)
        gpu_nodes = sum(1 for n in nodes if "nvidia.com/gpu.product" in n["metadata"]["labels"])
        return (
            f"cluster {self.cluster!r}: {len(nodes)} nodes ({gpu_nodes} with GPUs, {gpus} GPUs), "
            f"{len(self['pods'])} pods, {len(self['inferenceservices.serving.kserve.io'])} "
            f"InferenceServices, {len(self['models.mlops.seldon.io'])} Seldon Models, "
            f"{len(self['events'])} events"
        )

    def write_snapshot(self, directory: str | Path) -> Path:
        """Write ``<directory>/<plural>[.<group>].json`` lists, as ``kubectl get -A -o json``."""

        target = Path(directory)
        for kind, items in self.objects.items():
            if kind.endswith(f".{CONSTRAINTS_GROUP}"):  # a kind Gatekeeper made from a template
                write_list(target, constraint_kind(items[0]["kind"]), items)
            else:
                write_list(target, resource(kind), items)
        return target

    def apply(self, context: KubeContext, workers: int = 8) -> dict[str, int]:
        """Create every object in a live API server, statuses included (see `_write`)."""

        counts: dict[str, int] = apply_platform(self, context, workers)
        return counts


class _Simulation:
    def __init__(self, size: Size, seed: int, now: datetime, prefix: str, label: str) -> None:
        self.size = size
        self.b = Builder(seed, now)
        self.now = now
        self.prefix = prefix
        self.label = label
        self.platform = Platform(scenario.CLUSTER, now)
        self.placements: list[Placement] = []
        self.node_objs: dict[str, Obj] = {}
        self.node_ips: dict[str, str] = {}
        self.pod_counter: dict[str, int] = defaultdict(int)
        self.workspaces: list[str] = []

    # ------------------------------------------------------------------ helpers
    def ns(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def add(self, kind: str, obj: Obj) -> Obj:
        self.platform.objects[kind].append(obj)
        return obj

    def pod_ip(self, node: Placement | None) -> tuple[str, str]:
        if node is None:
            return "", ""
        index = list(self.node_objs).index(node.name)
        self.pod_counter[node.name] += 1
        n = self.pod_counter[node.name]
        return self.node_ips[node.name], f"10.{64 + index // 256}.{index % 256}.{n % 250 + 2}"

    def scheduler(self) -> Scheduler:
        return Scheduler(self.placements)

    # ------------------------------------------------------------------ nodes
    def build_nodes(self) -> None:
        b = self.b
        index = 0
        for pool in NODE_POOLS:
            for i in range(getattr(self.size, pool.pool.replace("-", "_"))):
                name = f"{self.prefix}{pool.pool}-{i}"
                node, placement = make_node(b, pool, name, index, self.size, i)
                self.add("nodes", node)
                self.node_objs[name] = node
                self.node_ips[name] = node["status"]["addresses"][0]["address"]
                self.placements.append(placement)
                index += 1

    def namespace(self, name: str, workspace: bool = False) -> str:
        full = self.ns(name)
        labels = {"kubernetes.io/metadata.name": full}
        if workspace:
            labels[self.label] = full
            labels["hxb.io/team"] = name
        created = self.b.ago(timedelta(days=60), timedelta(days=200))
        obj = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": self.b.meta(full, None, created, labels),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        self.add("namespaces", obj)
        return full

    # ------------------------------------------------------------------ workloads
    def run_pods(
        self,
        owner: Obj,
        namespace: str,
        base: str,
        labels: Mapping[str, str],
        containers: list[Container],
        count: int,
        *,
        states: list[PodState] | None = None,
        started: datetime | None = None,
        product: str | None = None,
        gpus: int = 0,
        mig: Mapping[str, int] | None = None,
        ordinal: bool = False,
        restart_policy: str = "Always",
    ) -> list[Obj]:
        """Create `count` pods of one controller, bound by the scheduler (or Pending)."""
        b = self.b
        cpu = sum(request_numbers(c.resources)[0] for c in containers)
        mem = sum(request_numbers(c.resources)[1] for c in containers)
        sched = self.scheduler()
        made = []
        for i in range(count):
            state = (states or [PodState()])[min(i, len(states or [PodState()]) - 1)]
            name = f"{base}-{i}" if ordinal else f"{base}-{b.suffix()}"
            node = None
            if state.kind != "pending":
                node = sched.place(cpu, mem, gpus, product, mig)
                if node is None:
                    state = PodState("pending")
                elif state.kind in ("succeeded", "failed"):  # finished pods hold nothing
                    back = {k: -v for k, v in (mig or {}).items()}
                    Scheduler.take(node, -cpu, -mem, -gpus, back, pods=0)
            pending = state.kind == "pending"
            message = self.unschedulable(gpus, product, mig) if pending else ""
            node_ip, ip = self.pod_ip(node)
            recent = b.rng.random() < 0.08  # some pods started in the last hour
            span = (
                (timedelta(minutes=2), timedelta(hours=1))
                if recent
                else (timedelta(hours=1), timedelta(days=12))
            )
            when = started or b.ago(*span)
            selector = {"nvidia.com/gpu.product": product} if product and gpus else None
            tolerations = [GPU_TOLERATION] if (gpus or mig) else []
            obj = pod(
                b,
                name,
                namespace,
                owner,
                labels,
                containers,
                node,
                state,
                when,
                node_ip=node_ip,
                pod_ip=ip,
                node_selector=selector,
                tolerations=tolerations,
                unschedulable_message=message,
                restart_policy=restart_policy,
            )
            made.append(self.add("pods", obj))
        return made

    def unschedulable(self, gpus: int, product: str | None, mig: Mapping[str, int] | None) -> str:
        total = len(self.placements)
        gpu_nodes = sum(1 for p in self.placements if p.product)
        if gpus or mig:
            resource = "nvidia.com/gpu" if gpus else f"nvidia.com/mig-{next(iter(mig or {}))}"
            return (
                f"0/{total} nodes are available: {gpu_nodes} Insufficient {resource}, "
                f"{total - gpu_nodes} node(s) didn't match Pod's node affinity/selector. "
                f"preemption: 0/{total} nodes are available: {gpu_nodes} No preemption victims "
                f"found for incoming pod, {total - gpu_nodes} Preemption is not helpful for "
                "scheduling."
            )
        return f"0/{total} nodes are available: {total} Insufficient cpu."

    def deployment(
        self,
        namespace: str,
        name: str,
        containers: list[Container],
        replicas: int,
        *,
        labels: Mapping[str, str] | None = None,
        states: list[PodState] | None = None,
        started: datetime | None = None,
        owner: Obj | None = None,
        product: str | None = None,
        gpus: int = 0,
        mig: Mapping[str, int] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> tuple[Obj, list[Obj]]:
        b = self.b
        created = started or b.ago(timedelta(days=2), timedelta(days=60))
        pod_labels = {"app": name, **(labels or {})}
        pod_spec: Obj = {}
        if product and gpus:
            pod_spec = {
                "nodeSelector": {"nvidia.com/gpu.product": product},
                "tolerations": [GPU_TOLERATION],
            }
        deploy = self.add(
            "deployments.apps",
            controller(
                b,
                "Deployment",
                name,
                namespace,
                created,
                pod_labels,
                containers,
                replicas,
                replicas,
                owner=owner,
                annotations=annotations,
                pod_spec=pod_spec,
            ),
        )
        pod_hash = b.suffix(10)
        rs_labels = {**pod_labels, "pod-template-hash": pod_hash}
        rs = self.add(
            "replicasets.apps",
            controller(
                b,
                "ReplicaSet",
                f"{name}-{pod_hash}",
                namespace,
                created,
                rs_labels,
                containers,
                replicas,
                replicas,
                owner=deploy,
                pod_spec=pod_spec,
            ),
        )
        pods = self.run_pods(
            rs,
            namespace,
            rs["metadata"]["name"],
            rs_labels,
            containers,
            replicas,
            states=states,
            started=started,
            product=product,
            gpus=gpus,
            mig=mig,
        )
        _set_ready(deploy, pods, rs)
        return deploy, pods

    def statefulset(
        self,
        namespace: str,
        name: str,
        containers: list[Container],
        replicas: int,
        *,
        labels: Mapping[str, str] | None = None,
        states: list[PodState] | None = None,
        started: datetime | None = None,
        product: str | None = None,
        gpus: int = 0,
        mig: Mapping[str, int] | None = None,
    ) -> tuple[Obj, list[Obj]]:
        b = self.b
        created = started or b.ago(timedelta(days=5), timedelta(days=90))
        pod_labels = {"app.kubernetes.io/name": name, **(labels or {})}
        pod_spec: Obj = {}
        if gpus or mig:
            pod_spec = {"tolerations": [GPU_TOLERATION]}
        sts = self.add(
            "statefulsets.apps",
            controller(
                b,
                "StatefulSet",
                name,
                namespace,
                created,
                pod_labels,
                containers,
                replicas,
                replicas,
                pod_spec=pod_spec,
            ),
        )
        pods = self.run_pods(
            sts,
            namespace,
            name,
            pod_labels,
            containers,
            replicas,
            states=states,
            started=started,
            product=product,
            gpus=gpus,
            mig=mig,
            ordinal=True,
        )
        _set_ready(sts, pods)
        return sts, pods

    def daemonset(self, namespace: str, name: str, image: str, gpu_only: bool) -> None:
        b = self.b
        created = b.ago(timedelta(days=30), timedelta(days=120))
        labels = {"app.kubernetes.io/name": name}
        containers = [Container(name, image, resources("50m", "64Mi"))]
        nodes = [p for p in self.placements if p.product or p.mig or not gpu_only]
        ds = self.add(
            "daemonsets.apps",
            controller(
                b,
                "DaemonSet",
                name,
                namespace,
                created,
                labels,
                containers,
                len(nodes),
                0,
                pod_spec={"tolerations": DS_TOLERATIONS},
            ),
        )
        pods = []
        for node in nodes:
            ready = _node_ready(self.node_objs[node.name])
            Scheduler.take(node, 0.05, 64 * 2**20)
            node_ip, ip = self.pod_ip(node)
            pods.append(
                self.add(
                    "pods",
                    pod(
                        b,
                        f"{name}-{b.suffix()}",
                        namespace,
                        ds,
                        labels,
                        containers,
                        node,
                        PodState("running" if ready else "stale"),
                        b.ago(timedelta(days=1), timedelta(days=30)),
                        node_ip=node_ip,
                        pod_ip=ip,
                        tolerations=DS_TOLERATIONS,
                    ),
                )
            )
        ready_count = sum(1 for p in pods if pod_ready(p))
        ds["status"].update(numberReady=ready_count, numberAvailable=ready_count)
        if len(pods) - ready_count:
            ds["status"]["numberUnavailable"] = len(pods) - ready_count


def _node_ready(n: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])


def _set_ready(owner: Obj, pods: list[Obj], *extra: Obj) -> None:
    """Make a controller's status count the pods that are actually ready."""
    ready = sum(1 for p in pods if pod_ready(p))
    for obj in (owner, *extra):
        status = obj["status"]
        for key in ("readyReplicas", "availableReplicas"):
            status.pop(key, None)
            if ready:
                status[key] = ready
        if obj["kind"] == "Deployment":
            replicas = status["replicas"]
            status.pop("unavailableReplicas", None)
            if replicas - ready:
                status["unavailableReplicas"] = replicas - ready
            available = status["conditions"][0]
            available["status"] = "True" if ready else "False"
            available["reason"] = (
                "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable"
            )
            available["message"] = (
                "Deployment has minimum availability."
                if ready
                else "Deployment does not have minimum availability."
            )


def simulate(
    size: str = "small",
    seed: int = 7,
    now: datetime | None = None,
    *,
    prefix: str = "",
    workspace_label: str = scenario.WORKSPACE_LABEL,
) -> Platform:
    """Simulate the platform: "small" (~10 nodes, ~150 pods), "medium" (~40, ~1000) or
    "large" (~200, ~10000). The same arguments give the same platform.

    `prefix` goes in front of every node and namespace name, so that several platforms
    can share one API server (tests).
    """

    if size not in SIZES:
        raise ConfigError(
            f"unknown platform size {size!r}", key="size", hint=f"use one of {', '.join(SIZES)}"
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    sim = _Simulation(SIZES[size], seed, moment, prefix, workspace_label)
    tell(sim)
    return sim.platform


def seed_demo(ctx: SeedContext) -> str:
    """The demo seeder: the simulated platform as the snapshot of cluster ``demo``."""
    platform = simulate(ctx.size, ctx.seed, ctx.now)
    target = ctx.home / "cluster" / scenario.CLUSTER
    ctx.progress(f"writing the cluster snapshot to {target}")
    platform.write_snapshot(target)
    return platform.summary()
