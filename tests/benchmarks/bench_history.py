"""Cluster history at scale.

- `wb.cluster.at(time).pods()` of the large simulated platform (~10,000 pods, its three
  days of history in Parquet, as the demo writes it) against `pods()` of the same platform
  as a snapshot directory: goal at most 2x its time (ratio >= 0.5x).
- `hxb-lab record`'s throughput under a churn of pods created in the test API server
  (``HXB_LAB_BENCH_CHURN``, default 10,000) against a plain watch of the same pods that only
  counts events, in the same run: changes per second from the first pod created until each
  has seen the last one (the recorder has written it); the time to see them all is
  compared, and both rates are printed.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks._harness import Result, median_time

CHURN = int(os.environ.get("HXB_LAB_BENCH_CHURN", "10000"))


def _at_against_snapshot(root: Path) -> Result:
    from hxb_lab.config import ClickHouseConfig, KubeConfig, Profile
    from hxb_lab.demo.cluster.simulate import simulate
    from hxb_lab.demo.history import write_history
    from hxb_lab.workbench import Workbench

    now = datetime.now(UTC).replace(microsecond=0)
    snapshot = root / "cluster" / "demo"
    simulate("large", 7, now).write_snapshot(snapshot)
    write_history(snapshot, root / "telemetry", now)
    kube = KubeConfig(snapshot=str(root / "cluster"))
    wb = Workbench(
        Profile(
            name="bench",
            kube=kube,
            clickhouse=ClickHouseConfig(dsn=f"parquet://{root / 'telemetry'}"),
        )
    )
    then, live = wb.cluster.at(now).pods(), wb.cluster.pods()
    assert len(then) == len(live) >= 9000, (len(then), len(live))
    ours = median_time(lambda: wb.cluster.at(now).pods(), repeat=5)
    peer = median_time(lambda: wb.cluster.pods(), repeat=5)
    return Result(
        f"cluster.at(t).pods() {len(live)} pods",
        ours,
        peer,
        "pods() of a snapshot",
        goal=">= 0.5x (at most 2x)",
    )


def _recorder_against_plain_watch(root: Path) -> Result:
    from hxb_lab.clients.kube import open_kube
    from hxb_lab.cluster import resource
    from hxb_lab.cluster.watch import watch_live
    from hxb_lab.config import ClickHouseConfig, KubeConfig, Profile
    from hxb_lab.workbench import Workbench
    from tests.support.controlplane import ControlPlane

    with ControlPlane() as plane:
        kube = KubeConfig(kubeconfig=str(plane.kubeconfig_path), contexts=("admin",))
        store = root / "recorded"
        store.mkdir()
        wb = Workbench(
            Profile(name="b", kube=kube, clickhouse=ClickHouseConfig(dsn=f"parquet://{store}"))
        )
        plane.create_namespace("churn")
        recorder = wb.cluster.recorder(["pods"], flush_s=0.5)
        stop = threading.Event()
        recording = threading.Thread(target=recorder.run, kwargs={"stop": stop}, daemon=True)
        recording.start()
        assert recorder.watching.wait(60)

        counted: list[float] = []
        ctx = open_kube(Profile(name="p", kube=kube)).contexts[0]

        def plain_watch() -> None:
            events = watch_live(ctx, resource("pods"), "churn", initial=False, timeout=3600)
            for n, _event in enumerate(events, start=1):
                if n == CHURN:
                    counted.append(time.perf_counter())
                    return

        watching = threading.Thread(target=plain_watch, daemon=True)
        watching.start()
        time.sleep(1.0)  # the plain watch has opened its request (it cannot tell us)

        def make(i: int) -> None:
            plane.request(
                "POST",
                "/api/v1/namespaces/churn/pods",
                json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": {"name": f"p-{i}", "labels": {"app": "churn"}},
                        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
                    }
                ).encode(),
            )

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(make, range(CHURN)))
        created = time.perf_counter()
        watching.join(timeout=600)

        def written() -> int:
            return len(wb.cluster.history(kind="pods", namespace="churn", start="-1h"))

        while written() < CHURN and time.perf_counter() - created < 600:
            time.sleep(0.2)
        recorded = time.perf_counter()
        stop.set()
        recording.join(timeout=30)
        ours, peer = recorded - started, counted[0] - started
        print(
            f"  created {CHURN} pods in {created - started:.1f} s; the recorder wrote "
            f"{CHURN / ours:.0f} changes/s, the plain watch counted {CHURN / peer:.0f} events/s",
            flush=True,
        )
        return Result(
            f"record: {CHURN} pods created, until all seen",
            ours,
            peer,
            "a watch that counts",
            goal=">= 0.8x (keeps up)",
        )


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory(prefix="hxb-bench-history-") as tmp:
        root = Path(tmp)
        yield _at_against_snapshot(root)
        yield _recorder_against_plain_watch(root)
