"""Runbooks: `hxb-lab runbook run` against a bare `papermill` run of the same notebook.

Ours does everything a run needs (validation, execution, the HTML report, the MLflow
record, the artifacts); the peer only executes. Goal: at most 1.5x papermill's wall time
(the harness prints peer/ours, so the goal is a ratio >= 0.67). Measured with an MLflow
tracking server (production, and the test setup) and with the demo's SQLite store.
Also: the size of a report with two plotly figures, against plotly.js + 1 MB.
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
from tests.support.mlflow_server import start_mlflow, stop

BIN = Path(sys.executable).parent
ROUNDS = 5
TRIVIAL = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]},
         "outputs": [], "source": "x: int = 1  # a number"},
        {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [],
         "source": "print(x * 2)"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}  # fmt: skip


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _side_by_side(ours: list[str], peer: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Medians of interleaved runs (after one untimed run each), so load hits both alike."""
    _timed(ours, env)
    _timed(peer, env)
    a, b = [], []
    for _ in range(ROUNDS):
        a.append(_timed(ours, env))
        b.append(_timed(peer, env))
    return statistics.median(a), statistics.median(b)


def run() -> Iterator[Result]:
    with tempfile.TemporaryDirectory(prefix="hxb-bench-runbooks-") as tmp:
        root = Path(tmp)
        notebook = root / "trivial.ipynb"
        notebook.write_text(json.dumps(TRIVIAL))
        papermill = [str(BIN / "papermill"), "--no-progress-bar", str(notebook),
                     str(root / "papermill-out.ipynb"), "-p", "x", "2"]  # fmt: skip
        hxb = [str(BIN / "hxb-lab"), "runbook", "run", str(notebook), "-p", "x", "2",
               "--no-progress"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("HXB_LAB_")}
        env["HXB_LAB_HOME"] = str(root / "home")

        server = start_mlflow(root)
        try:
            profiles = root / "profiles.toml"
            profiles.write_text(
                f'[profiles.bench]\nmlflow = {{ tracking_uri = "{server.url}" }}\n'
                f'artifacts = {{ uri = "{(root / "artifacts").as_uri()}" }}\n'
            )
            served = {**env, "HXB_LAB_CONFIG": str(profiles), "HXB_LAB_PROFILE": "bench"}
            ours, peer = _side_by_side(hxb, papermill, served)
            yield Result("runbook run, MLflow server (trivial)", ours, peer, "papermill CLI",
                         goal="<= 1.5x papermill (ratio >= 0.67)")  # fmt: skip
        finally:
            stop(server.process)

        ours, peer = _side_by_side(hxb, papermill, env)  # the demo profile: SQLite store
        yield Result("runbook run, demo SQLite store (trivial)", ours, peer, "papermill CLI",
                     goal="<= 1.5x papermill (ratio >= 0.67)")  # fmt: skip

        figures = Path(__file__).parents[1] / "runbooks" / "fixtures" / "plotly_figures.ipynb"
        done = subprocess.run(
            [*hxb[:3], str(figures), "--no-progress"], check=True, capture_output=True,
            text=True, env=env,
        )  # fmt: skip
        report = next(
            Path(line.split(":", 1)[1].strip())
            for line in done.stdout.splitlines()
            if "report:" in line
        )
        from plotly.offline import get_plotlyjs

        budget = len(get_plotlyjs().encode()) + 1_000_000
        yield Result("report size, 2 plotly figures", report.stat().st_size / 1e6, budget / 1e6,
                     "plotly.js + 1 MB", unit="MB", goal="<= plotly.js + 1 MB (ratio >= 1)")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    for result in run():
        print(result.line(), file=sys.stdout, flush=True)
