"""The demo's GPU fleet and model pods, as the telemetry generator sees them.

When the cluster seeder has written its snapshot (``<home>/cluster/<cluster>/nodes.json``
and ``pods.json``), GPU nodes and pods come from there, so DCGM and Triton metrics carry
the same node and pod names as `wb.cluster`. Without a snapshot (unit tests of this
layer) a small consistent fleet is derived from `hxb_lab.demo.scenario`, deterministic by seed.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hxb_lab.demo import scenario

#: GPU product label -> (DCGM modelName, TDP watts, max SM clock MHz, GPUs per derived node)
PRODUCTS: dict[str, tuple[str, float, float, int]] = {
    scenario.H100[0]: ("NVIDIA H100 80GB HBM3", 700.0, 1980.0, 8),
    scenario.A100[0]: ("NVIDIA A100-SXM4-40GB", 400.0, 1410.0, 8),
    scenario.L4[0]: ("NVIDIA L4", 72.0, 2040.0, 8),
}
_MEMORY_MIB = {scenario.H100[0]: 81559, scenario.A100[0]: 40960, scenario.L4[0]: 23034}
_SHORT = {scenario.H100[0]: "h100", scenario.A100[0]: "a100", scenario.L4[0]: "l4"}
_KSERVE_LABEL = "serving.kserve.io/inferenceservice"
_SELDON_LABELS = ("seldon.io/model", "mlops.seldon.io/model")


@dataclass
class Gpu:
    node: str
    index: int
    product: str
    uuid: str
    memory_mib: int
    pod: str = ""  # the pod the GPU is allocated to, "" when free
    namespace: str = ""
    deployment: str = ""
    container: str = ""  # the pod's container that asked for the GPU

    @property
    def model_name(self) -> str:
        return PRODUCTS.get(self.product, (self.product.replace("-", " "), 0.0, 0.0, 0))[0]


@dataclass
class Pod:
    name: str
    namespace: str
    deployment: str
    node: str = ""
    version: int = 0
    canary: bool = False
    gpus: list[int] = field(default_factory=list)
    container: str = "kserve-container"


@dataclass
class Fleet:
    """GPU nodes (with their GPUs) and the pods serving each deployment."""

    gpus: list[Gpu]
    pods: dict[str, list[Pod]]  # deployment name -> its pods, canary last
    source: str  # "snapshot" or "scenario"

    def hot_gpu(self) -> Gpu | None:
        """The GPU of the `scenario.HOT_GPU` incident: '<product>-<n>/gpu-<i>' by role."""
        role, _, gpu = scenario.HOT_GPU.target.partition("/")
        short, _, number = role.rpartition("-")
        index = int(gpu.removeprefix("gpu-"))
        nodes = sorted({g.node for g in self.gpus if _SHORT.get(g.product) == short})
        if int(number) >= len(nodes):
            return None
        node = nodes[int(number)]
        return next((g for g in self.gpus if g.node == node and g.index == index), None)


def _uuid(seed: int, node: str, index: int) -> str:
    digest = hashlib.sha256(f"{seed}/{node}/{index}".encode()).hexdigest()
    return f"GPU-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _pod_suffix(rng: random.Random) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    hash_ = "".join(rng.choice(alphabet) for _ in range(9))
    return f"{hash_}-{''.join(rng.choice(alphabet) for _ in range(5))}"


def derived_fleet(seed: int) -> Fleet:
    """A small fleet consistent with the scenario: enough GPU nodes for every deployment."""
    rng = random.Random(seed)
    pods: dict[str, list[Pod]] = {}
    for d in scenario.DEPLOYMENTS:
        replicas = [
            Pod(f"{d.name}-predictor-{_pod_suffix(rng)}", d.workspace, d.name, version=d.version)
            for _ in range(d.replicas)
        ]
        if d.name == scenario.CANARY_ROLLOUT.target:
            replicas.append(
                Pod(
                    f"{d.name}-predictor-canary-{_pod_suffix(rng)}",
                    d.workspace,
                    d.name,
                    version=d.version + 1,
                    canary=True,
                )
            )
        pods[d.name] = replicas
    gpus: list[Gpu] = []
    by_name = {d.name: d for d in scenario.DEPLOYMENTS}
    idle = scenario.FORGOTTEN_NOTEBOOK
    for product, (_, _, _, per_node) in PRODUCTS.items():
        wanting = [
            p for d in scenario.DEPLOYMENTS if d.gpu_product == product for p in pods[d.name]
        ]
        needed = sum(by_name[p.deployment].gpus_per_replica for p in wanting)
        needed += idle.gpus if idle.gpu_product == product else 0
        nodes = max(2, -(-needed // per_node))
        free: list[Gpu] = []
        for n in range(nodes):
            node = f"gpu-{_SHORT[product]}-{n}"
            for i in range(per_node):
                gpu = Gpu(node, i, product, _uuid(seed, node, i), _MEMORY_MIB[product])
                gpus.append(gpu)
                free.append(gpu)
        for pod in wanting:
            for _ in range(by_name[pod.deployment].gpus_per_replica):
                _allocate(free.pop(0), pod)
        if idle.gpu_product == product:  # holds GPUs, serves no deployment
            notebook = Pod(idle.pod, idle.workspace, "", container="notebook")
            for _ in range(idle.gpus):
                _allocate(free.pop(0), notebook)
    cpu_nodes = [f"cpu-{n}" for n in range(3)]
    for i, pod in enumerate(p for ps in pods.values() for p in ps if not p.node):
        pod.node = cpu_nodes[i % len(cpu_nodes)]
    return Fleet(gpus, pods, "scenario")


def _allocate(gpu: Gpu, pod: Pod) -> None:
    gpu.pod, gpu.namespace, gpu.deployment = pod.name, pod.namespace, pod.deployment
    gpu.container = pod.container
    pod.node = gpu.node
    pod.gpus.append(gpu.index)


def _items(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    items = data.get("items", []) if isinstance(data, dict) else data
    return [i for i in items if isinstance(i, dict)]


def _gpu_request(pod: dict[str, Any]) -> tuple[int, str]:
    """The GPUs a pod asks for, and the name of its (first) container that asks."""
    total, asking = 0, ""
    for container in pod.get("spec", {}).get("containers", []):
        resources = container.get("resources", {})
        value = (resources.get("limits") or {}).get("nvidia.com/gpu") or (
            resources.get("requests") or {}
        ).get("nvidia.com/gpu")
        if value:
            total += int(str(value))
            asking = asking or str(container.get("name", ""))
    return total, asking


def _deployment_of(pod: dict[str, Any]) -> str | None:
    meta = pod.get("metadata", {})
    labels = meta.get("labels") or {}
    names = {d.name for d in scenario.DEPLOYMENTS}
    for key in (_KSERVE_LABEL, *_SELDON_LABELS, "app.kubernetes.io/name", "app"):
        if labels.get(key) in names:
            return str(labels[key])
    name = str(meta.get("name", ""))
    matches = [n for n in names if name.startswith(n + "-predictor")]
    return max(matches, key=len) if matches else None


def snapshot_fleet(cluster_dir: Path, seed: int) -> Fleet | None:
    """The fleet of a cluster snapshot directory, or None when it has no GPU nodes."""
    gpus: list[Gpu] = []
    for node in sorted(_items(cluster_dir / "nodes.json"), key=lambda n: n["metadata"]["name"]):
        meta = node.get("metadata", {})
        labels = meta.get("labels") or {}
        product = labels.get("nvidia.com/gpu.product")
        count = labels.get("nvidia.com/gpu.count") or (
            node.get("status", {}).get("capacity") or {}
        ).get("nvidia.com/gpu")
        if not product or not count:
            continue
        memory = int(labels.get("nvidia.com/gpu.memory") or _MEMORY_MIB.get(product, 16384))
        for i in range(int(str(count))):
            gpus.append(Gpu(meta["name"], i, product, _uuid(seed, meta["name"], i), memory))
    if not gpus:
        return None
    pods: dict[str, list[Pod]] = {d.name: [] for d in scenario.DEPLOYMENTS}
    versions = {d.name: d.version for d in scenario.DEPLOYMENTS}
    raw = sorted(_items(cluster_dir / "pods.json"), key=lambda p: p["metadata"]["name"])
    for item in raw:
        if item.get("status", {}).get("phase", "Running") != "Running":
            continue
        deployment = _deployment_of(item)
        if deployment is None:  # a job or another workload: it may still hold GPUs
            want, container = _gpu_request(item)
            meta = item["metadata"]
            other = Pod(meta["name"], meta.get("namespace", ""), "", container=container)
            other.node = item.get("spec", {}).get("nodeName", "")
            free = [g for g in gpus if g.node == other.node and not g.pod]
            for gpu in free[:want]:
                _allocate(gpu, other)
            continue
        meta = item["metadata"]
        labels = meta.get("labels") or {}
        text = json.dumps(labels) + meta["name"]
        canary = "canary" in text
        version = versions[deployment] + (1 if canary else 0)
        for key in ("hxb.io/model-version", "serving.kserve.io/model-version", "version"):
            if str(labels.get(key, "")).isdigit():
                version = int(labels[key])
        pod = Pod(meta["name"], meta.get("namespace", ""), deployment, version=version)
        pod.canary = canary or version > versions[deployment]
        pod.node = item.get("spec", {}).get("nodeName", "")
        want, container = _gpu_request(item)
        pod.container = container or pod.container
        free = [g for g in gpus if g.node == pod.node and not g.pod]
        for gpu in free[:want]:
            _allocate(gpu, pod)
        pods[deployment].append(pod)
    servers = [p for p in raw if "seldon-server-name" in (p["metadata"].get("labels") or {})]
    for d in scenario.DEPLOYMENTS:  # a Seldon model runs on its namespace's shared servers
        if d.kind == "seldon" and not pods[d.name]:
            pods[d.name] = [
                Pod(
                    p["metadata"]["name"],
                    p["metadata"].get("namespace", ""),
                    d.name,
                    node=p.get("spec", {}).get("nodeName", ""),
                    version=d.version,
                )
                for p in servers
                if p["metadata"].get("namespace") == d.workspace
            ]
    derived = derived_fleet(seed)
    for name, found in pods.items():
        if not found:  # the snapshot has no pod for it: keep the scenario's names
            pods[name] = derived.pods[name]
        found.sort(key=lambda p: p.canary)
    return Fleet(gpus, pods, "snapshot")


def load_fleet(home: Path | None, seed: int) -> Fleet:
    """The snapshot's fleet when ``<home>/cluster/<cluster>/`` has GPU nodes, else derived."""
    if home is not None:
        fleet = snapshot_fleet(home / "cluster" / scenario.CLUSTER, seed)
        if fleet is not None:
            return fleet
    return derived_fleet(seed)
