"""`wb.cluster.pods()` on 10,000 pods in a real kube-apiserver, against its peers.

Peers, measured in the same run on the same server: the `kubernetes` client's
``CoreV1Api().list_pod_for_all_namespaces()`` turned into a frame of the same columns
(goals: >= 5x less wall time, >= 3x less peak memory) and ``kubectl get pods -A -o json``
(goal: ours within 1.5x of its wall time). Each side runs in a fresh process, so peak
memory is that process's peak RSS above what it held before the read.

Also printed: the control plane's warm start time, peak memory and cold build time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result, command_time

PODS = 10_000
REPEAT = 3


def _rss(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _peer_frame(kubeconfig: str) -> Any:
    """What a user writes with the official client: list, then one row per V1Pod."""
    import kubernetes

    from hxb_lab.cluster._quantities import quantity
    from hxb_lab.cluster.pods import POD_COLUMNS
    from hxb_lab.frames import build

    api = kubernetes.client.CoreV1Api(
        kubernetes.config.new_client_from_config(config_file=kubeconfig, context="admin")
    )
    namespaces = kubernetes.client.CoreV1Api(api.api_client).list_namespace()
    workspace = {
        n.metadata.name: (n.metadata.labels or {}).get("hxb.io/workspace") for n in namespaces.items
    }
    rows = []
    for pod in api.list_pod_for_all_namespaces().items:
        meta, spec, status = pod.metadata, pod.spec, pod.status
        cpu = mem = gpu = 0.0
        for c in spec.containers:
            requests = (c.resources.requests if c.resources else None) or {}
            cpu += quantity(requests.get("cpu"))
            mem += quantity(requests.get("memory"))
            gpu += quantity(requests.get("nvidia.com/gpu"))
        statuses = status.container_statuses or []
        reason = status.reason
        for cs in statuses:
            if reason is None and cs.state and cs.state.waiting:
                reason = cs.state.waiting.reason
        owner = (meta.owner_references or [None])[0]
        rows.append(
            (
                "admin",
                meta.namespace,
                workspace.get(meta.namespace),
                meta.name,
                status.phase,
                reason,
                any(c.type == "Ready" and c.status == "True" for c in status.conditions or []),
                sum(cs.restart_count for cs in statuses),
                spec.node_name,
                cpu,
                int(mem),
                int(gpu),
                0,
                owner.kind if owner else None,
                owner.name if owner else None,
                owner.kind if owner else "Pod",
                owner.name if owner else meta.name,
                None,
                status.start_time.isoformat() if status.start_time else None,
                meta.creation_timestamp.isoformat(),
                meta.labels or {},
                meta.annotations or {},
            )
        )
    return build(POD_COLUMNS, rows)


def _ours(kubeconfig: str) -> Any:
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.workbench import Workbench

    profile = Profile(name="bench", kube=KubeConfig(kubeconfig=kubeconfig, contexts=("admin",)))
    return Workbench(profile).cluster.pods()


def worker(side: str, kubeconfig: str) -> None:
    """Runs in a fresh process: prints {"seconds": median, "peak_bytes": ..., "rows": ...}."""
    read = _ours if side == "ours" else _peer_frame
    import kubernetes  # noqa: F401  (both sides pay the imports before the measurement)
    import pandas  # noqa: F401

    import hxb_lab.cluster.pods  # noqa: F401

    before = _rss("VmRSS:")
    frame = read(kubeconfig)
    peak = _rss("VmHWM:") - before
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        frame = read(kubeconfig)
        samples.append(time.perf_counter() - started)
    print(
        json.dumps({"seconds": statistics.median(samples), "peak_bytes": peak, "rows": len(frame)})
    )


def _measure(side: str, kubeconfig: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_cluster", side, str(kubeconfig)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run() -> Iterator[Result]:
    from hxb_lab.clients.kube import open_kube
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.demo.cluster.simulate import simulate
    from tests.support.controlplane import ControlPlane

    with ControlPlane() as plane:
        started = plane.startup_seconds or 0.0
        plane.install_crds()
        platform = simulate("large", 7, datetime.now(UTC))
        kubeconfig = plane.kubeconfig_path
        clients = open_kube(
            Profile(name="b", kube=KubeConfig(kubeconfig=str(kubeconfig), contexts=("admin",)))
        )
        t0 = time.perf_counter()
        platform.apply(clients.contexts[0], workers=8)
        clients.close()
        print(
            f"  seeded {len(platform['pods'])} pods ({platform.summary()}) in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        ours = _measure("ours", kubeconfig)
        peer = _measure("peer", kubeconfig)
        assert ours["rows"] == peer["rows"] >= PODS, (ours, peer)
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        kubectl = command_time(
            [
                str(plane.kubectl_path),
                f"--kubeconfig={kubeconfig}",
                "get",
                "pods",
                "-A",
                "-o",
                "json",
            ],
            repeat=REPEAT,
            env=env,
        )
        yield Result(
            "cluster.pods() 10k pods: wall",
            ours["seconds"],
            peer["seconds"],
            "list_pod_for_all_namespaces",
            goal=">= 5x",
        )
        yield Result(
            "cluster.pods() 10k pods: peak memory",
            ours["peak_bytes"] / 2**20,
            peer["peak_bytes"] / 2**20,
            "list_pod_for_all_namespaces",
            unit="MiB",
            goal=">= 3x",
        )
        yield Result(
            "cluster.pods() 10k pods: wall vs kubectl",
            ours["seconds"],
            kubectl,
            "kubectl get pods -A -o json",
            goal=">= 0.67x (within 1.5x)",
        )
        memory = plane.peak_memory_bytes()
        versions = plane.binaries_dir / "VERSIONS"
        build = "unknown"
        if versions.exists():
            found = dict(line.split("=", 1) for line in versions.read_text().split())
            build = f"{found.get('build_seconds', '?')} s"
        print(
            f"  control plane: warm start {started:.1f} s, peak RSS kube-apiserver "
            f"{memory.get('kube-apiserver', 0) / 2**20:.0f} MiB, etcd "
            f"{memory.get('etcd', 0) / 2**20:.0f} MiB (10k pods loaded); cold build {build}",
            flush=True,
        )


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2])
