"""`wb.platform`'s reads on the large simulated platform (~10,000 pods) as a snapshot, against
loading the same ``kubectl get -A -o json`` files into Python dicts (goal: every read of the
platform's stack together within 1.5x of the dicts they come from).

The peer is what every reader pays first: parsing the list files each read needs (pods,
nodes, deployments, services, claims, volumes, classes, the operators' lists) with the
standard library's ``json``, each once. Ours is the nine frames of the stack, built from the
same files (a file two reads need is read twice).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks._harness import Result, median_time

READS = (
    "routes", "ingresses", "volumes", "storage_classes", "ceph", "autoscalers",
    "disruption_budgets", "notebooks", "secret_syncs",
)  # fmt: skip
#: The files those reads parse besides the operators' own lists, each loaded once by the peer.
FILES = (
    "pods.json", "nodes.json", "namespaces.json", "deployments.apps.json", "services.json",
    "secrets.json", "persistentvolumeclaims.json", "persistentvolumes.json",
)  # fmt: skip


def run() -> Iterator[Result]:
    from hxb_lab.config import KubeConfig, Profile
    from hxb_lab.demo.cluster.simulate import simulate
    from hxb_lab.workbench import Workbench

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        simulate("large", 7, datetime.now(UTC)).write_snapshot(root / "demo")
        directory = root / "demo"
        operators = [
            p.name for p in directory.glob("*.*.json")
            if p.name not in FILES and not p.name.startswith(("replicasets", "statefulsets",
                                                              "daemonsets", "jobs", "events",
                                                              "resourcequotas", "models.",
                                                              "applications."))
        ]  # fmt: skip
        wb = Workbench(Profile(name="bench", kube=KubeConfig(snapshot=str(root))))

        def ours() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for read in READS:
                    getattr(wb.platform, read)()

        def peer() -> None:
            for name in (*FILES, *operators):
                json.loads((directory / name).read_bytes())

        yield Result(
            "platform stack, 9 reads, large snapshot",
            median_time(ours, repeat=3),
            median_time(peer, repeat=3),
            "json.loads of its files",
            goal="ratio >= 0.67 (within 1.5x)",
        )
