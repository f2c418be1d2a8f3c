"""The alert receiver (``hxb_lab.triggers`` over HTTP, as ``hxb-lab serve`` hosts it) against
Debian's Alertmanager delivering to it, measured in the same run.

- ``alert received -> run started``: median and p99 over 100 alerts, each its own group,
  POSTed as Alertmanager posts them until the receiver answers with the run's id (the
  credentials, the v4 body, the rule, the runbook's parameter checks, the cooldown and
  rate limit), against Alertmanager's own delivery of 100 alerts (POSTed to its API until
  the receiver has them, ``group_wait: 0s``). Goal: the receiver adds little to
  Alertmanager's delivery.
- ``1,000-alert storm``: 200 alerts each sent 5 times from 8 clients at once (the repeats
  deduplicated), seconds for all 1,000, against Alertmanager delivering 1,000 alerts
  (each its own group) to the same receiver. Goal: the receiver keeps up with Alertmanager.

The starts are recorded, not executed: the figure is the receiver's, not papermill's.
The receiver saves its cooldown and rate limits to a state directory, as its hosts do.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hxb_lab.config import load_profile
from hxb_lab.triggers import AlertService, Receiver, Start
from tests.benchmarks._harness import Result
from tests.support.processes import free_port, start
from tests.triggers.conftest import FIXTURES, webhook

TOKEN = "bench-token"
ALERTS = 100


class Arrivals:
    """The receiver's starter here: when each alert's run was started, by its ``seq``."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    def __call__(self, started: Start) -> str:
        seq = started.trigger["alerts"][0]["labels"]["seq"]
        with self.changed:
            self.at[seq] = time.perf_counter()
            self.changed.notify_all()
        return f"run-{seq}"

    def wait(self, keys: set[str], timeout: float = 120.0) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: keys <= set(self.at), timeout)
        if not ok:
            raise RuntimeError(f"{len(keys - set(self.at))} alerts never arrived")


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return int(response.status)


def _alert(seq: str) -> dict[str, object]:
    return {"labels": {"alertname": "ServiceDown", "service": f"s{seq}", "replicas": "2",
                       "seq": seq}}  # fmt: skip


def _fire(alertmanager: str, seqs: list[str]) -> None:
    now = datetime.now(UTC)
    body = [{"labels": _alert(s)["labels"], "startsAt": now.isoformat(),
             "endsAt": (now + timedelta(hours=1)).isoformat()} for s in seqs]  # fmt: skip
    _post(f"{alertmanager}/api/v2/alerts", json.dumps(body).encode(),
          {"Content-Type": "application/json"})  # fmt: skip


def run() -> Iterator[Result]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        raise RuntimeError("prometheus-alertmanager is missing: run `make test-deps`")
    with tempfile.TemporaryDirectory(prefix="hxb-bench-alerts-") as tmp:
        base = Path(tmp)
        profiles = base / "profiles.toml"
        profiles.write_text(
            f'default = "bench"\n[profiles.bench]\nrunbooks = {{ directories = ["{FIXTURES}"] }}\n'
            '[profiles.bench.alerts]\ntoken = { env = "HXB_BENCH_TOKEN" }\nmax_runs = 100000\n'
            '[[profiles.bench.alerts.rules]]\nname = "down"\nrunbook = "checks"\n'
            'match = { alertname = "ServiceDown" }\n'
            'parameters = { service = "{labels.service}", replicas = "{labels.replicas}" }\n'
        )
        saved = {k: os.environ.get(k) for k in ("HXB_LAB_CONFIG", "HXB_BENCH_TOKEN")}
        os.environ.update({"HXB_LAB_CONFIG": str(profiles), "HXB_BENCH_TOKEN": TOKEN})
        arrivals = Arrivals()
        receiver = Receiver(load_profile("bench"), arrivals, state_dir=base / "state")  # as hosted
        service = AlertService(receiver, "127.0.0.1", 0)
        thread = threading.Thread(target=service.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        url = f"{service.url}/hxb-lab/api/alerts"
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        try:
            # Ours: one request per alert, as Alertmanager sends a group, to the answer.
            latencies = []
            for i in range(ALERTS):
                body = webhook(_alert(f"r{i}"), group=f"r{i}")
                started = time.perf_counter()
                _post(url, body, headers)
                latencies.append(time.perf_counter() - started)
            latencies.sort()
            median = statistics.median(latencies) * 1000
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000

            # The storm: 200 alerts x 5 sends, 8 clients at once.
            bodies = [webhook(_alert(f"s{i % 200}"), group=f"s{i % 200}") for i in range(1000)]
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda b: _post(url, b, headers), bodies))
            storm = time.perf_counter() - started
            if sum(1 for s in statuses if s == 202) != 200:
                raise RuntimeError(f"{statuses.count(202)} runs started in the storm, not 200")

            # The peer: Alertmanager delivering to the same receiver.
            config = base / "alertmanager.yml"
            config.write_text(
                "route:\n  receiver: hxb\n  group_by: ['...']\n  group_wait: 0s\n"
                "  group_interval: 1h\n  repeat_interval: 1h\n"
                f"receivers:\n  - name: hxb\n    webhook_configs:\n      - url: {url}\n"
                f"        http_config:\n          authorization:\n            credentials: {TOKEN}\n"
            )  # fmt: skip
            port = free_port()
            am = f"http://127.0.0.1:{port}"
            command = [binary, f"--config.file={config}", f"--storage.path={base / 'am'}",
                       f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]  # fmt: skip
            with start(command, base / "alertmanager.log", f"{am}/-/ready"):
                delivery = []
                for i in range(ALERTS):
                    seq = f"a{i}"
                    sent = time.perf_counter()
                    _fire(am, [seq])
                    arrivals.wait({seq})
                    delivery.append(arrivals.at[seq] - sent)
                seqs = [f"b{i}" for i in range(1000)]
                sent = time.perf_counter()
                _fire(am, seqs)
                arrivals.wait(set(seqs))
                peer_storm = time.perf_counter() - sent
            delivery.sort()
            yield Result("alert received -> run started, median", median,
                         statistics.median(delivery) * 1000, "Alertmanager delivery",
                         unit="ms", goal="a small part of Alertmanager's delivery")  # fmt: skip
            yield Result("alert received -> run started, p99", p99,
                         delivery[int(len(delivery) * 0.99) - 1] * 1000, "Alertmanager delivery",
                         unit="ms")  # fmt: skip
            yield Result("1,000-alert storm (200 alerts x 5, deduplicated)", storm, peer_storm,
                         "Alertmanager delivering 1,000", goal="keeps up (ratio >= 1)")  # fmt: skip
        finally:
            service.shutdown()
            service.server_close()
            receiver.close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
