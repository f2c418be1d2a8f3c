"""Runs recorded in an MLflow SQLite store with ``sqlite3`` (`hxb_lab.clients.mlflow._writer`).

The writer is only right while it writes what MLflow writes, so every test reads back with
the real mlflow library, side by side with the same calls made through it.
"""

from __future__ import annotations

import math
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import hxb_lab as hx
from hxb_lab.clients.mlflow import (
    SCHEMA_REVISIONS,
    LibraryStore,
    SqliteRunWriter,
    open_recording_store,
    open_run_writer,
)
from hxb_lab.config import load_profile
from hxb_lab.errors import QueryError
from hxb_lab.runbooks._history import Recorder
from hxb_lab.runbooks._recorder import ProcessRecorder, make_recorder
from tests.runbooks.conftest import fixture


@pytest.fixture
def store(demo_home: Path, tmp_path: Path) -> Path:
    """A copy of the demo's MLflow store (created by mlflow when the demo was seeded)."""
    copy = tmp_path / "mlflow.db"
    shutil.copyfile(demo_home / "demo" / "mlflow" / "mlflow.db", copy)
    return copy


def _uri(path: Path) -> str:
    return f"sqlite:///{path}"


def _writer(uri: str) -> SqliteRunWriter | None:
    """The writer for `uri`, passing what it does not write to the mlflow library."""
    return open_run_writer(uri, lambda: LibraryStore(uri))


def _record(store: Any, artifacts: str) -> str:
    """One run's recording, as `hxb_lab.runbooks._history` makes it."""
    experiment = store.get_experiment_by_name("runbooks/parity")
    experiment_id = (
        experiment["experiment_id"]
        if experiment
        else store.create_experiment("runbooks/parity", artifacts)
    )
    run = store.create_run(experiment_id, 1_750_000_000_000, {"hxb_lab.status": "running"}, "r-1")
    run_id: str = run["info"]["run_id"]
    assert run["info"]["artifact_uri"] == f"{artifacts}/{run_id}/artifacts"
    metrics = [
        {"key": "latency p95", "value": 2.0, "timestamp": 1_750_000_001_000, "step": 0},
        {"key": "latency p95", "value": 1.0, "timestamp": 1_750_000_002_000, "step": 1},
        {"key": "latency p95", "value": 1.0, "timestamp": 1_750_000_002_000, "step": 1},
        {"key": "errors/s", "value": float("nan"), "timestamp": 1_750_000_001_000, "step": 0},
        {"key": "budget", "value": float("inf"), "timestamp": 1_750_000_001_000, "step": 0},
    ]
    store.log_batch(run_id, metrics, {"window": "1h", "service": "chat"}, {"hxb_lab.status": "ok"})
    store.log_batch(run_id, [], {"window": "1h"}, {"note": "second batch"})
    store.set_terminated(run_id, "FINISHED", 1_750_000_009_000)
    return run_id


def _as_mlflow_sees_it(path: Path, run_id: str) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=_uri(path))
    run = client.get_run(run_id)
    history = client.get_metric_history(run_id, "latency p95")
    experiment = client.get_experiment(run.info.experiment_id)
    return {
        "experiment": (experiment.name, experiment.lifecycle_stage),
        "artifact_location": experiment.artifact_location,
        "info": (
            run.info.status,
            run.info.start_time,
            run.info.end_time,
            run.info.run_name,
            run.info.user_id,
            run.info.lifecycle_stage,
        ),
        "params": run.data.params,
        "tags": run.data.tags,
        "metrics": {k: "nan" if math.isnan(v) else v for k, v in run.data.metrics.items()},
        "history": [(m.step, m.timestamp, m.value) for m in history],
        "found": [r.info.run_id for r in client.search_runs([experiment.experiment_id])],
    }


def test_the_demo_store_has_a_schema_revision_the_writer_knows(demo_home: Path) -> None:
    """Fails when mlflow is upgraded to a schema not checked against the writer."""
    db = demo_home / "demo" / "mlflow" / "mlflow.db"
    with sqlite3.connect(db) as con:
        (revision,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in SCHEMA_REVISIONS, (
        f"MLflow's schema is now {revision}: check that hxb_lab/clients/mlflow/_writer.py still "
        "writes experiments, runs, params, tags, metrics and latest_metrics as MLflow does, "
        "then add the revision to SCHEMA_REVISIONS"
    )
    assert isinstance(_writer(_uri(db)), SqliteRunWriter)


def test_a_run_written_with_sqlite3_reads_back_in_mlflow_as_one_written_by_mlflow(
    store: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin.db"
    shutil.copyfile(store, twin)
    artifacts = (tmp_path / "artifacts").as_uri()
    ours = _record(_writer(_uri(store)), artifacts)
    theirs = _record(LibraryStore(_uri(twin)), artifacts)
    seen_ours, seen_theirs = _as_mlflow_sees_it(store, ours), _as_mlflow_sees_it(twin, theirs)
    seen_ours["found"] = [r == ours for r in seen_ours["found"]]
    seen_theirs["found"] = [r == theirs for r in seen_theirs["found"]]
    assert seen_ours == seen_theirs
    assert seen_ours["metrics"]["latency p95"] == 1.0  # the highest step wins
    assert seen_ours["tags"]["mlflow.runName"] == "r-1"
    assert seen_ours["params"] == {"window": "1h", "service": "chat"}


def test_a_changed_parameter_or_a_bad_metric_name_is_refused_and_writes_nothing(
    store: Path, tmp_path: Path
) -> None:
    writer = _writer(_uri(store))
    assert writer is not None
    experiment = writer.create_experiment("runbooks/refusals", (tmp_path / "a").as_uri())
    run_id = writer.create_run(experiment, 1, {}, "r")["info"]["run_id"]
    writer.log_batch(run_id, [], {"window": "1h"}, {})
    with pytest.raises(QueryError, match="window were already logged"):
        writer.log_batch(run_id, [], {"window": "6h", "extra": "x"}, {"t": "v"})
    with pytest.raises(QueryError, match=r"metric name '\.\./etc'"):
        writer.log_batch(run_id, [{"key": "../etc", "value": 1.0, "timestamp": 1, "step": 0}],
                         {}, {})  # fmt: skip
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=_uri(store)).get_run(run_id)
    assert run.data.params == {"window": "1h"} and "t" not in run.data.tags


def test_concurrent_runs_queue_on_the_write_lock_and_all_are_recorded(store: Path) -> None:
    writer = _writer(_uri(store))
    assert writer is not None
    experiment = writer.create_experiment("runbooks/busy", "file:///tmp/busy")
    made: list[str] = []

    def one(n: int) -> None:
        run_id = writer.create_run(experiment, n, {"n": str(n)}, f"r-{n}")["info"]["run_id"]
        writer.log_batch(run_id, [{"key": "n", "value": n, "timestamp": n, "step": 0}], {}, {})
        writer.set_terminated(run_id, "FINISHED", n + 1)
        made.append(run_id)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 8
    found = writer.search_runs([experiment], "attributes.status = 'FINISHED'", 100)
    assert sorted(r["info"]["run_id"] for r in found) == sorted(made)


def test_a_store_mlflow_has_not_created_or_does_not_know_goes_through_mlflow(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-template"))
    assert _writer(_uri(tmp_path / "missing.db")) is None
    assert _writer("http://127.0.0.1:5000") is None
    with sqlite3.connect(store) as con:
        con.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    assert _writer(_uri(store)) is None


def test_a_demo_run_records_from_a_thread_and_a_store_of_another_revision_from_a_process(
    demo_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from hxb_lab.runbooks._run import Run

    profile = load_profile("demo")
    assert isinstance(open_recording_store(profile), SqliteRunWriter)
    probe = Run("probe-1", "probe", "running", datetime.now(UTC), profile="demo")
    recorder = make_recorder(profile, probe)
    assert type(recorder) is Recorder

    run = hx.runbooks.get(str(fixture("succeeds"))).run({"service": "chat"})
    assert run.status == "succeeded" and not run.warnings, run.warnings
    assert hx.runbooks.runs(run.runbook).set_index("run_id").loc[run.id, "status"] == "succeeded"

    other = tmp_path / "home"
    shutil.copytree(demo_env / "demo" / "mlflow", other / "demo" / "mlflow")
    with sqlite3.connect(other / "demo" / "mlflow" / "mlflow.db") as con:
        con.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    monkeypatch.setenv("HXB_LAB_HOME", str(other))
    assert isinstance(make_recorder(load_profile("demo"), probe), ProcessRecorder)


def test_a_new_store_is_a_copy_of_the_empty_store_mlflow_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hxb_lab.clients.mlflow._template import template_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template = template_path()
    assert template is not None and not template.exists()
    # No template yet: nothing to write with, so the run goes through mlflow, which creates
    # (migrates) the store; that first store is kept as the template.
    first = tmp_path / "one" / "mlflow.db"
    assert _writer(_uri(first)) is None and not first.exists()
    LibraryStore(_uri(first))
    assert template.is_file() and first.is_file()
    # The next new store is a copy: written with sqlite3 at once, read back by mlflow.
    second = tmp_path / "two" / "mlflow.db"
    writer = _writer(_uri(second))
    assert isinstance(writer, SqliteRunWriter) and second.is_file()
    run_id = _record(writer, (tmp_path / "artifacts").as_uri())
    assert _as_mlflow_sees_it(second, run_id)["info"][0] == "FINISHED"
    # The template stays empty.
    with sqlite3.connect(template) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
