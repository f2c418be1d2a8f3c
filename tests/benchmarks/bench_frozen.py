"""Frozen runs: what keeping a run's frames costs, against the same run keeping none.

`gpu-capacity-report` on the demo, through `hxb-lab runbook run`, with its frames kept (the
default) and with ``HXB_LAB_FROZEN_MAX_BYTES=0`` (nothing kept), interleaved: the wall time
of a run, the bytes its outputs take (run directory), and, inside the kernel, the time the
frames took to write against the time their reads took.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.benchmarks._harness import Result

BIN = Path(sys.executable).parent
ROUNDS = 3
RUNBOOK = "gpu-capacity-report"


def _run(env: dict[str, str]) -> tuple[float, Path]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "run", RUNBOOK, "--no-progress"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    report = next(
        Path(line.split(":", 1)[1].strip())
        for line in done.stdout.splitlines()
        if line.strip().startswith("report:")  # not "gpu-capacity-report: succeeded"
    )
    return seconds, report.parent


def _bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory(prefix="hxb-bench-frozen-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HXB_LAB_")}
        env["HXB_LAB_HOME"] = str(Path(tmp) / "home")
        subprocess.run([str(BIN / "hxb-lab"), "demo", "--size", "small"], check=True,
                       capture_output=True, env=env)  # fmt: skip
        frozen, bare = env, {**env, "HXB_LAB_FROZEN_MAX_BYTES": "0"}
        _run(frozen)  # untimed: caches, the first MLflow writes
        times: dict[str, list[float]] = {"frozen": [], "bare": []}
        sizes: dict[str, list[int]] = {"frozen": [], "bare": []}
        writes, reads = [], []
        for _ in range(ROUNDS):
            for name, chosen in (("frozen", frozen), ("bare", bare)):
                seconds, directory = _run(chosen)
                times[name].append(seconds)
                sizes[name].append(_bytes(directory))
                if name == "frozen":
                    calls = json.loads((directory / "frozen" / "frames.json").read_text())["calls"]
                    writes.append(sum(c.get("write_ms", 0.0) for c in calls) / 1000.0)
                    reads.append(sum(c.get("read_ms", 0.0) for c in calls) / 1000.0)
        yield Result(f"{RUNBOOK} run, frames kept (wall)", statistics.median(times["frozen"]),
                     statistics.median(times["bare"]), "same run, none kept",
                     goal="<= 1.1x (ratio >= 0.91)")  # fmt: skip
        yield Result(f"{RUNBOOK} run outputs, frames kept", statistics.median(sizes["frozen"]) / 1e6,
                     statistics.median(sizes["bare"]) / 1e6, "same run, none kept", unit="MB",
                     goal="report")  # fmt: skip
        yield Result(f"{RUNBOOK} frames written, in the kernel", statistics.median(writes),
                     statistics.median(reads), "the reads themselves",
                     goal="writing < reading (ratio > 1)")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    for result in run():
        print(result.line(), file=sys.stdout, flush=True)
