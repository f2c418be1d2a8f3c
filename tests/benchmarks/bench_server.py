"""The server extension: a run started from the sidebar against the same run from the CLI,
and how fast the server answers while runs execute.

- ``run through the server``: POST ``runbooks/checks/runs`` until the run has succeeded
  (worker start, papermill, report, MLflow record), against ``hxb-lab runbook run`` of the
  same runbook. Goal: at most 1.2x the CLI (the pool adds no real cost).
- ``GET profiles/active while 2 runs execute``: median latency with both run workers busy,
  against the same server idle. Goal: the server stays responsive (<= 3x idle).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks._harness import Result
from tests.server._jupyter import Jupyter, running_jupyter

FIXTURES = Path(__file__).resolve().parents[1] / "server" / "fixtures"
RUNS = 3


def _run_to_end(server: Jupyter, runbook: str, parameters: dict[str, object]) -> float:
    started = time.perf_counter()
    run = server.api("POST", f"runbooks/{runbook}/runs", {"parameters": parameters})["run"]
    while run["status"] in ("queued", "running"):
        time.sleep(0.1)  # polling, as the sidebar does
        run = server.api("GET", f"runs/{run['id']}")
    if run["status"] != "succeeded":
        raise RuntimeError(f"run {run['id']} ended {run['status']}: {run['error']}")
    return time.perf_counter() - started


def _latency(server: Jupyter, samples: int = 40) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        server.api("GET", "profiles/active")
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory(prefix="hxb-bench-server-") as tmp:
        base = Path(tmp)
        home = base / "home"
        profiles = base / "profiles.toml"
        profiles.write_text(
            f'default = "bench"\n[profiles.bench]\nrunbooks = {{ directories = ["{FIXTURES}"] }}\n'
        )
        # The same HOME for both (a fresh HOME makes every kernel start rebuild its caches).
        env = {"HXB_LAB_HOME": str(home), "HXB_LAB_CONFIG": str(profiles),
               "HOME": os.environ.get("HOME", str(base))}  # fmt: skip
        cli = [str(Path(sys.executable).parent / "hxb-lab"), "runbook", "run", "checks",
               "-p", "service", "bench"]  # fmt: skip
        cli_env = {**os.environ, **env}
        with running_jupyter("server", base / "server", env, base / "server.log") as server:
            _run_to_end(server, "checks", {"service": "warm-up"})  # MLflow store created
            subprocess.run(cli, check=True, capture_output=True, env=cli_env)
            ours = statistics.median(
                _run_to_end(server, "checks", {"service": "bench"}) for _ in range(RUNS)
            )
            peer = []
            for _ in range(RUNS):
                started = time.perf_counter()
                subprocess.run(cli, check=True, capture_output=True, env=cli_env)
                peer.append(time.perf_counter() - started)
            yield Result("run through the server (checks)", ours, statistics.median(peer),
                         "hxb-lab runbook run", goal="<= 1.2x the CLI")  # fmt: skip

            idle = _latency(server)
            ids = [
                server.api("POST", "runbooks/waits/runs", {"parameters": {"seconds": 30}})["run"][
                    "id"
                ]
                for _ in range(2)
            ]
            while any(server.api("GET", f"runs/{i}")["status"] != "running" for i in ids):
                time.sleep(0.1)
            busy = _latency(server)
            for run_id in ids:
                server.api("POST", f"runs/{run_id}/cancel", {})
            yield Result("GET profiles/active while 2 runs execute", busy, idle,
                         "the same server idle", unit="ms", goal="<= 3x idle")  # fmt: skip
