"""Run history in MLflow: what a run records, and `runs()` reading it back."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.clients.mlflow import open_recording_store
from hxb_lab.config import load_profile
from hxb_lab.errors import BackendUnavailableError, ParameterError
from hxb_lab.runbooks._history import RunAbandoned, open_run, opening
from tests.runbooks.conftest import MlflowServer, fixture, free_port

RUNS_COLUMNS = [
    "run_id", "runbook", "status", "started", "finished", "duration_ms", "profile", "executor",
    "kubernetes_job", "parameters", "metrics", "report_uri", "notebook_uri", "error",
    "mlflow_run_id", "trigger",
]  # fmt: skip


def test_a_run_is_an_mlflow_run_with_parameters_tags_metrics_and_artifacts(
    local_profile: str, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    # A runbook of its own: its experiment is created here, in this profile's store.
    notebook = tmp_path / "history_check.ipynb"
    shutil.copy(fixture("succeeds"), notebook)
    run = hx.runbooks.get(str(notebook)).run({"service": "cart"}, local_profile)
    client = MlflowClient(mlflow_server.url)  # read back with MLflow's own client
    experiment = client.get_experiment_by_name("runbooks/history_check")
    assert experiment is not None
    recorded = client.get_run(run.mlflow_run_id)
    assert recorded.info.experiment_id == experiment.experiment_id
    assert recorded.info.status == "FINISHED"
    assert recorded.info.run_name == run.id
    assert recorded.data.params["service"] == "cart"
    assert recorded.data.params["threshold_ms"] == "250.0"
    tags = recorded.data.tags
    assert tags["hxb_lab.profile"] == "local"
    assert tags["hxb_lab.executor"] == "local"
    assert tags["hxb_lab.status"] == "succeeded"
    assert tags["hxb_lab.run_id"] == run.id
    assert recorded.data.metrics == {"slow_requests": 3.0, "p95_ms": 375.0}
    # The notebook and the report are artifacts of the MLflow run, in the profile's store.
    assert run.report_uri == f"{recorded.info.artifact_uri}/report.html"
    assert run.notebook_uri == f"{recorded.info.artifact_uri}/history_check.ipynb"
    stored = Path(run.report_uri.removeprefix("file://"))
    assert stored.read_bytes() == run.report.read_bytes()
    names = {a.path for a in client.list_artifacts(run.mlflow_run_id)}
    assert names == {"report.html", "history_check.ipynb"}


def test_runs_reads_the_history_back_with_filters(local_profile: str) -> None:
    good = hx.runbooks.get("succeeds", local_profile).run({"service": "a"}, local_profile)
    bad = hx.runbooks.get("fails_in_cell_3", local_profile).run({}, local_profile)
    frame = hx.runbooks.runs(profile=local_profile)
    assert list(frame.columns) == RUNS_COLUMNS
    assert str(frame["started"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["finished"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["duration_ms"].dtype) == "float64"
    rows = frame.set_index("run_id")
    assert rows.loc[good.id, "status"] == "succeeded"
    assert rows.loc[good.id, "parameters"]["service"] == "a"
    assert rows.loc[good.id, "metrics"] == {"slow_requests": 3.0, "p95_ms": 375.0}
    assert rows.loc[good.id, "duration_ms"] == pytest.approx(good.duration_ms, abs=2)
    assert pd.isna(rows.loc[good.id, "error"])
    assert rows.loc[bad.id, "error"] == "ValueError: disk is full on node gpu-7 in cell 3"
    assert rows.loc[bad.id, "report_uri"].endswith("/report.html")
    assert frame["started"].is_monotonic_decreasing  # newest first

    failed = hx.runbooks.runs(status="failed", profile=local_profile)
    assert bad.id in set(failed["run_id"]) and good.id not in set(failed["run_id"])
    only = hx.runbooks.runs("fails_in_cell_3", profile=local_profile)
    assert set(only["runbook"]) == {"fails_in_cell_3"}
    assert hx.runbooks.runs(since="1h", profile=local_profile)["run_id"].isin([good.id]).any()
    future = datetime.now(UTC) + timedelta(hours=1)
    assert hx.runbooks.runs(since=future, profile=local_profile).empty
    with pytest.raises(ParameterError, match="status: 'broken' is not one of"):
        hx.runbooks.runs(status="broken", profile=local_profile)
    with pytest.raises(ParameterError, match="since: 'yesterday' is not a time or an age"):
        hx.runbooks.runs(since="yesterday", profile=local_profile)


def test_an_unreachable_mlflow_keeps_the_run_and_says_so(
    profiles_file: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    profiles_file.write_text(
        f'[profiles.down]\nmlflow = {{ tracking_uri = "http://127.0.0.1:{port}" }}\n'
        f'artifacts = {{ uri = "{(tmp_path / "a").as_uri()}" }}\n'
    )
    result = hx.runbooks.get(str(fixture("untyped_parameters"))).run({}, "down")
    assert result.status == "succeeded"
    assert result.report.exists()
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("run not recorded in MLflow: cannot reach the MLflow")
    assert f"127.0.0.1:{port}" in result.warnings[0]
    with pytest.raises(BackendUnavailableError, match=f"127.0.0.1:{port}"):
        hx.runbooks.runs(profile="down")


def _interrupted(runbook: str, run_id: str, profile: str) -> hx.runbooks.Run:
    directory = hx.runbooks.runs_root() / runbook / run_id
    directory.mkdir(parents=True)
    run = hx.runbooks.Run(
        id=run_id,
        runbook=runbook,
        status="failed",
        started=datetime.now(UTC),
        parameters={"service": "cart"},
        profile=profile,
        directory=directory,
        ename="RunInterrupted",
        evalue="the run's worker process exited with code -9",
    )
    run.save()
    return run


def test_a_run_ended_while_its_helper_creates_its_mlflow_run_gets_that_one_run(
    local_profile: str,
) -> None:
    """The run's helper is creating the MLflow run when the server ends the run (its worker
    was killed): the server waits for it and completes that run, instead of a second one."""
    profile = load_profile(local_profile)
    run = _interrupted("succeeds", "20261206-120000-aaa111", local_profile)
    ended: list[BaseException | None] = []

    def end() -> None:
        try:
            hx.runbooks.record_outcome(run, profile)
            ended.append(None)
        except BaseException as exc:
            ended.append(exc)

    with opening(run):  # the helper, between its owner check and the run's creation
        server = threading.Thread(target=end)
        server.start()
        server.join(timeout=2.0)
        assert server.is_alive(), "the server recorded the run while its helper was opening it"
        store = open_recording_store(profile)
        helper_run = open_run(store, profile, run)  # as the helper does, its lock held here
        store.close()
    server.join(timeout=60)
    assert ended == [None]
    frame = hx.runbooks.runs(profile=local_profile)
    mine = frame[frame["run_id"] == run.id]
    assert len(mine) == 1
    assert mine.iloc[0]["mlflow_run_id"] == helper_run["info"]["run_id"]
    assert mine.iloc[0]["status"] == "failed"


def test_a_helper_that_gets_there_after_the_run_was_ended_opens_no_second_run(
    local_profile: str,
) -> None:
    profile = load_profile(local_profile)
    run = _interrupted("succeeds", "20261206-120000-bbb222", local_profile)
    hx.runbooks.record_outcome(run, profile)  # the server, first
    store = open_recording_store(profile)
    with pytest.raises(RunAbandoned):  # the helper: its worker is gone
        open_run(store, profile, run, owner_alive=lambda: False)
    store.close()
    frame = hx.runbooks.runs(profile=local_profile)
    assert (frame["run_id"] == run.id).sum() == 1
