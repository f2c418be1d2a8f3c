"""Building blocks of the platform simulator: seeded names and times, object constructors
shaped as the API server returns them, and a small scheduler that binds pods to nodes."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hxb_lab.cluster._quantities import quantity

__all__ = ["Builder", "NodeSpec", "Placement", "Scheduler", "ts"]

Obj = dict[str, Any]
_HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names


def ts(moment: datetime) -> str:
    """A timestamp as the API server writes it (RFC 3339, whole seconds, UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Builder:
    """Seeded randomness and the clock of one simulated platform."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now

    @contextlib.contextmanager
    def aside(self, name: str) -> Iterator[None]:
        """Draw from a stream of `name`'s own meanwhile, so that a part added to the story
        leaves every other random choice of the platform (names, times, uids) as it was."""
        main = self.rng
        self.rng = random.Random(f"{self.seed}/{name}")
        try:
            yield
        finally:
            self.rng = main

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, n: int = 5) -> str:
        return "".join(self.rng.choice(_HASH_CHARS) for _ in range(n))

    def ago(self, low: timedelta, high: timedelta | None = None) -> datetime:
        """A moment between `high` and `low` before now (exactly `low` if no `high`)."""
        if high is None:
            return self.now - low
        span = (high - low).total_seconds()
        return self.now - low - timedelta(seconds=int(self.rng.random() * span))

    def meta(
        self,
        name: str,
        namespace: str | None,
        created: datetime,
        labels: Mapping[str, str] | None = None,
        owner: Obj | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Obj:
        meta: Obj = {"name": name, "uid": self.uid(), "creationTimestamp": ts(created)}
        if namespace is not None:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        if owner is not None:
            meta["ownerReferences"] = [owner_ref(owner)]
        return meta


def owner_ref(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(
    kind: str, status: bool | str, at: datetime, reason: str = "", message: str = ""
) -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    out: Obj = {"type": kind, "status": value, "lastTransitionTime": ts(at)}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


@dataclass(frozen=True)
class NodeSpec:
    """One node pool's machine."""

    pool: str
    instance_type: str
    cpu: int
    memory_gi: int
    gpus: int = 0
    gpu: tuple[str, int] | None = None  # (GFD product, memory MB)
    accelerator: str | None = None  # GKE's cloud.google.com/gke-accelerator
    mig: Mapping[str, int] = field(default_factory=dict)  # profile -> devices (mixed)
    mig_gpus: int = 0  # GPUs partitioned into MIG devices


@dataclass
class Placement:
    """A node's free resources while the simulator binds pods."""

    name: str
    pool: str
    product: str | None
    cpu: float
    memory: float
    gpu: int
    pods: int
    schedulable: bool
    mig: dict[str, int] = field(default_factory=dict)


class Scheduler:
    """First fit for GPU pods (packs GPUs, as a bin-packing scheduler profile would),
    least requested for CPU pods (spreads them)."""

    def __init__(self, nodes: Sequence[Placement]) -> None:
        self.nodes = list(nodes)

    def place(
        self,
        cpu: float,
        memory: float,
        gpu: int = 0,
        product: str | None = None,
        mig: Mapping[str, int] | None = None,
        pool: str | None = None,
    ) -> Placement | None:
        def fits(n: Placement) -> bool:
            if not n.schedulable or n.pods < 1 or n.cpu < cpu or n.memory < memory:
                return False
            if pool is not None and n.pool != pool:
                return False
            if gpu and (n.gpu < gpu or (product is not None and n.product != product)):
                return False
            if mig and any(n.mig.get(k, 0) < v for k, v in mig.items()):
                return False
            # GPU nodes are tainted: only pods that ask for GPUs (or tolerate) go there.
            return bool(gpu or mig or pool) or n.product is None

        candidates = [n for n in self.nodes if fits(n)]
        if not candidates:
            return None
        chosen = candidates[0] if (gpu or mig) else max(candidates, key=lambda n: n.cpu)
        self.take(chosen, cpu, memory, gpu, mig)
        return chosen

    @staticmethod
    def take(
        node: Placement,
        cpu: float,
        memory: float,
        gpu: int = 0,
        mig: Mapping[str, int] | None = None,
        pods: int = 1,
    ) -> None:
        node.cpu -= cpu
        node.memory -= memory
        node.gpu -= gpu
        node.pods -= pods
        for key, value in (mig or {}).items():
            node.mig[key] -= value


def resources(cpu: str, memory: str, gpu: int = 0, mig: Mapping[str, int] | None = None) -> Obj:
    requests: Obj = {"cpu": cpu, "memory": memory}
    limits: Obj = {"memory": memory}
    if gpu:
        requests["nvidia.com/gpu"] = str(gpu)
        limits["nvidia.com/gpu"] = str(gpu)
    for profile, count in (mig or {}).items():
        requests[f"nvidia.com/mig-{profile}"] = str(count)
        limits[f"nvidia.com/mig-{profile}"] = str(count)
    return {"requests": requests, "limits": limits}


def request_numbers(res: Obj) -> tuple[float, float]:
    req = res["requests"]
    return quantity(req["cpu"]), quantity(req["memory"])
