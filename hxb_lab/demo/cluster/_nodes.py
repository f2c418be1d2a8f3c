"""Node pools and platform sizes of the simulator; nodes labelled as GKE and GPU Feature
Discovery label them, with capacity, allocatable, taints and conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hxb_lab.demo import scenario
from hxb_lab.demo.cluster._builder import Builder, NodeSpec, Placement, condition, ts

__all__ = ["NODE_POOLS", "SIZES", "Size", "make_node"]

Obj = dict[str, Any]
ZONES = ("europe-west4-a", "europe-west4-b", "europe-west4-c")
KUBELET = "v1.31.4-gke.1256000"
RUNTIME = "containerd://1.7.24"
DRIVER = ("550.90.07", "12.4")

NODE_POOLS: tuple[NodeSpec, ...] = (
    NodeSpec("cpu", "n2-standard-32", 32, 128),
    NodeSpec("h100", "a3-highgpu-8g", 208, 1872, 8, scenario.H100, "nvidia-h100-80gb"),
    NodeSpec("a100", "a2-highgpu-8g", 96, 680, 8, scenario.A100, "nvidia-tesla-a100"),
    NodeSpec("l4", "g2-standard-96", 96, 384, 8, scenario.L4, "nvidia-l4"),
    # Mixed MIG strategy: 4 whole GPUs, 2 cut in 7x 1g.5gb, 2 in 2x 3g.20gb.
    NodeSpec(
        "a100-mig",
        "a2-highgpu-8g",
        96,
        680,
        4,
        scenario.A100,
        "nvidia-tesla-a100",
        mig={"1g.5gb": 14, "3g.20gb": 4},
        mig_gpus=4,
    ),
)
MIG_MEMORY_MB = {"1g.5gb": 4864, "3g.20gb": 19968}


@dataclass(frozen=True)
class Size:
    """How big a simulated platform is: nodes per pool, workspaces, and pods in total."""

    cpu: int
    h100: int
    a100: int
    l4: int
    a100_mig: int
    workspaces: int
    pods: int
    not_ready: tuple[str, ...]  # "pool-index" of NotReady nodes
    cordoned: tuple[str, ...]
    scale: int  # replicas multiplier for platform services


SIZES = {
    "small": Size(3, 2, 2, 2, 1, 4, 150, ("cpu-2",), ("a100-1",), 1),
    "medium": Size(18, 6, 6, 8, 2, 8, 1000, ("cpu-17", "l4-7"), ("a100-5", "cpu-16"), 2),
    "large": Size(
        120,
        24,
        24,
        28,
        4,
        12,
        10000,
        ("cpu-119", "l4-27", "h100-23"),
        ("a100-23", "cpu-118", "cpu-117"),
        6,
    ),
}


def make_node(
    b: Builder, spec: NodeSpec, name: str, index: int, size: Size, i: int
) -> tuple[Obj, Placement]:
    """One node object (status included) and its free resources for the scheduler."""
    key = f"{spec.pool}-{i}"
    zone = ZONES[i % len(ZONES)]
    labels = {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "cloud.google.com/gke-nodepool": spec.pool,
        "node.kubernetes.io/instance-type": spec.instance_type,
        "topology.kubernetes.io/region": zone[:-2],
        "topology.kubernetes.io/zone": zone,
    }
    capacity: Obj = {
        "cpu": str(spec.cpu),
        "memory": f"{spec.memory_gi * 1024 * 1024}Ki",
        "ephemeral-storage": "203056560Ki",
        "pods": "110",
    }
    # GKE reserves a little for the system: what pods may request is less than capacity.
    cpu_alloc = spec.cpu * 1000 - (70 + 10 * spec.cpu)
    mem_alloc_ki = spec.memory_gi * 1024 * 1024 - (3 * 1024 * 1024 + spec.memory_gi * 8 * 1024)
    allocatable: Obj = {
        "cpu": f"{cpu_alloc}m",
        "memory": f"{mem_alloc_ki}Ki",
        "ephemeral-storage": "187138280Ki",
        "pods": "110",
    }
    taints: list[Obj] = []
    if spec.gpu is not None:
        product, memory = spec.gpu
        physical = spec.gpus + spec.mig_gpus
        labels.update(
            {
                "cloud.google.com/gke-accelerator": spec.accelerator or "",
                "nvidia.com/gpu.present": "true",
                "nvidia.com/gpu.product": product,
                "nvidia.com/gpu.memory": str(memory),
                "nvidia.com/gpu.count": str(physical),
                "nvidia.com/gpu.family": "hopper"
                if "H100" in product
                else ("ampere" if "A100" in product else "ada-lovelace"),
                "nvidia.com/cuda.driver-version.full": DRIVER[0],
                "nvidia.com/cuda.runtime-version.full": DRIVER[1],
                "nvidia.com/mig.capable": "true" if "100" in product else "false",
                "nvidia.com/mig.strategy": "mixed" if spec.mig else "single",
            }
        )
        capacity["nvidia.com/gpu"] = str(spec.gpus)
        allocatable["nvidia.com/gpu"] = str(spec.gpus)
        for profile, count in spec.mig.items():
            capacity[f"nvidia.com/mig-{profile}"] = str(count)
            allocatable[f"nvidia.com/mig-{profile}"] = str(count)
            labels[f"nvidia.com/mig-{profile}.count"] = str(count)
            labels[f"nvidia.com/mig-{profile}.memory"] = str(MIG_MEMORY_MB[profile])
            labels[f"nvidia.com/mig-{profile}.product"] = f"{product}-MIG-{profile}"
        taints.append({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"})
    ready = key not in size.not_ready
    cordoned = key in size.cordoned
    created = b.ago(timedelta(days=20), timedelta(days=120))
    heartbeat = b.now - (
        timedelta(seconds=b.rng.randint(5, 40)) if ready else timedelta(minutes=47)
    )
    if cordoned:
        taints.append(
            {
                "key": "node.kubernetes.io/unschedulable",
                "effect": "NoSchedule",
                "timeAdded": ts(b.now - timedelta(hours=5)),
            }
        )
    if not ready:
        taints.append(
            {
                "key": "node.kubernetes.io/unreachable",
                "effect": "NoExecute",
                "timeAdded": ts(b.now - timedelta(minutes=46)),
            }
        )
        taints.append(
            {
                "key": "node.kubernetes.io/unreachable",
                "effect": "NoSchedule",
                "timeAdded": ts(b.now - timedelta(minutes=46)),
            }
        )
    conditions = [
        _hb(
            condition(
                "MemoryPressure",
                False,
                created,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            heartbeat,
            ready,
        ),
        _hb(
            condition(
                "DiskPressure",
                False,
                created,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
            ),
            heartbeat,
            ready,
        ),
        _hb(
            condition(
                "PIDPressure",
                False,
                created,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            heartbeat,
            ready,
        ),
        _hb(
            condition("Ready", True, created, "KubeletReady", "kubelet is posting ready status"),
            heartbeat,
            ready,
        ),
    ]
    address = f"10.128.{index // 250}.{index % 250 + 2}"
    spec_obj: Obj = {
        "podCIDR": f"10.{64 + index // 256}.{index % 256}.0/24",
        "providerID": f"gce://hxb-prod/{zone}/{name}",
    }
    if taints:
        spec_obj["taints"] = taints
    if cordoned:
        spec_obj["unschedulable"] = True
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": b.meta(name, None, created, labels),
        "spec": spec_obj,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": address},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": conditions,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": b.uid(),
                "containerRuntimeVersion": RUNTIME,
                "kernelVersion": "6.1.100+",
                "kubeProxyVersion": KUBELET,
                "kubeletVersion": KUBELET,
                "machineID": f"{b.rng.getrandbits(128):032x}",
                "operatingSystem": "linux",
                "osImage": "Container-Optimized OS from Google",
                "systemUUID": b.uid(),
            },
        },
    }
    placement = Placement(
        name=name,
        pool=spec.pool,
        product=spec.gpu[0] if spec.gpu else None,
        cpu=cpu_alloc / 1000,
        memory=mem_alloc_ki * 1024.0,
        gpu=spec.gpus,
        pods=110,
        schedulable=ready and not cordoned,
        mig=dict(spec.mig),
    )
    return node, placement


def _hb(cond: Obj, heartbeat: Any, ready: bool) -> Obj:
    cond["lastHeartbeatTime"] = ts(heartbeat)
    if not ready:
        cond.update(
            status="Unknown",
            reason="NodeStatusUnknown",
            message="Kubelet stopped posting node status.",
        )
    return cond
