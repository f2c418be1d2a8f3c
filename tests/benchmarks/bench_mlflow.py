"""MLflow: recording a runbook run in a SQLite store with `SqliteRunWriter` (``sqlite3``)
against ``mlflow.MlflowClient`` on the same store.

A recording is what `hxb_lab.runbooks._history` does for one run: find the experiment,
create the run, log its parameters, metrics and tags in one batch, set its status. Warm:
both in this process, the client already open (a notebook kernel, the server). Cold: a
short-lived ``python -c`` that imports what it needs and records one run (the CLI, a pod,
a worker), the way a run pays for it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result, command_time, median_time

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "runbooks/bench"
PARAMS = {f"param_{i}": f"value {i}" for i in range(5)}
TAGS = {f"hxb_lab.tag_{i}": f"value {i}" for i in range(7)}
METRICS = [{"key": f"metric_{i}", "value": i / 3, "timestamp": 1_750_000_000_000 + i, "step": 0}
           for i in range(10)]  # fmt: skip


def record_with_writer(uri: str) -> None:
    """One run's recording through `SqliteRunWriter` (imports included when cold)."""
    from hxb_lab.clients.mlflow import LibraryStore, open_run_writer

    writer = open_run_writer(uri, lambda: LibraryStore(uri))
    assert writer is not None, "the store's schema is not one the writer knows"
    experiment = writer.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    run = writer.create_run(experiment["experiment_id"], 1_750_000_000_000, TAGS, "bench")
    writer.log_batch(run["info"]["run_id"], METRICS, PARAMS, TAGS)
    writer.set_terminated(run["info"]["run_id"], "FINISHED", 1_750_000_009_000)


def record_with_client(client: Any) -> None:
    """The same recording through ``mlflow.MlflowClient``."""
    from mlflow.entities import Metric, Param, RunTag

    experiment = client.get_experiment_by_name(EXPERIMENT)
    run = client.create_run(
        experiment.experiment_id, start_time=1_750_000_000_000, tags=TAGS, run_name="bench"
    )
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(m["key"], m["value"], m["timestamp"], m["step"]) for m in METRICS],
        params=[Param(k, v) for k, v in PARAMS.items()],
        tags=[RunTag(k, v) for k, v in TAGS.items()],
    )
    client.set_terminated(run.info.run_id, status="FINISHED", end_time=1_750_000_009_000)


def record_with_new_client(uri: str) -> None:
    from mlflow.tracking import MlflowClient

    record_with_client(MlflowClient(tracking_uri=uri))


def _store(root: Path, name: str, empty: Path) -> str:
    path = root / f"{name}.db"
    shutil.copyfile(empty, path)
    return f"sqlite:///{path}"


def run() -> Iterator[Result]:
    from mlflow.tracking import MlflowClient

    from hxb_lab.clients.mlflow import LibraryStore

    with tempfile.TemporaryDirectory(prefix="hxb-bench-mlflow-") as tmp:
        root = Path(tmp)
        empty = root / "empty.db"
        LibraryStore(f"sqlite:///{empty}").create_experiment(
            EXPERIMENT, (root / "artifacts").as_uri()
        )
        ours, theirs = _store(root, "writer", empty), _store(root, "client", empty)
        client = MlflowClient(tracking_uri=theirs)
        writer_s = median_time(lambda: record_with_writer(ours), repeat=30, warmup=3)
        client_s = median_time(lambda: record_with_client(client), repeat=30, warmup=3)
        yield Result("record a run, warm (same process)", writer_s * 1000, client_s * 1000,
                     "MlflowClient", unit="ms")  # fmt: skip

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        code = "from tests.benchmarks.bench_mlflow import {}; {}({!r})"
        cold_writer = [sys.executable, "-c", code.format(*["record_with_writer"] * 2, ours)]
        cold_client = [sys.executable, "-c", code.format(*["record_with_new_client"] * 2, theirs)]
        writer_s = command_time(cold_writer, repeat=7, env=env)
        client_s = command_time(cold_client, repeat=7, env=env)
        yield Result("record a run, cold (python -c, with imports)", writer_s, client_s,
                     "MlflowClient")  # fmt: skip
        python = command_time([sys.executable, "-c", "pass"], repeat=7, env=env)
        yield Result("  of which the interpreter (python -c pass)", python, python, "itself")
