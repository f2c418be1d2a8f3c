"""Runs through the server: validated, started in the pool at once, recorded in MLflow,
cancelled, and never left running when the server stops.

Runbooks are the fixtures of tests/server/fixtures; the server has one run worker (see
conftest), so a second run waits in the queue while the first executes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import body, get, post, wait_for_file

pytestmark = pytest.mark.slow


def _manager(jp_serverapp: Any) -> Any:
    from hxb_lab.server.app import RUNS_SETTING

    return jp_serverapp.web_app.settings[RUNS_SETTING]


async def _finished(jp_serverapp: Any, run_id: str) -> None:
    """Wait on the job's own event (set when its worker has exited and it is recorded)."""
    await _manager(jp_serverapp).get(run_id).done.wait()


async def test_a_run_is_answered_at_once_then_succeeds_with_report_notebook_and_history(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str
) -> None:
    params = {"service": "checkout", "replicas": 3, "token": "s3cr3t-t0ken"}

    response = await post(jp_fetch, "runbooks", "checks", "runs", data={"parameters": params})

    assert response.code == 202
    started = body(response)["run"]
    assert started["status"] in ("queued", "running")
    assert started["runbook"] == "checks"
    assert started["parameters"]["token"] == "***"
    run_id = started["id"]

    await _finished(jp_serverapp, run_id)
    run = body(await get(jp_fetch, "runs", run_id))
    assert run["status"] == "succeeded", run
    assert run["error"] is None
    assert run["duration_ms"] > 0
    assert run["has_report"] and run["has_notebook"]
    assert run["metrics"] == {"replicas": 3.0}  # from MLflow's record
    assert run["parameters"] == {"service": "checkout", "replicas": 3, "mode": "quick",
                                 "token": "***"}  # fmt: skip

    listed = body(await get(jp_fetch, "runs", params={"runbook": "checks"}))
    assert listed["warning"] is None
    assert listed["runs"][0]["id"] == run_id  # newest first
    assert listed["runs"][0]["status"] == "succeeded"
    assert {r["runbook"] for r in listed["runs"]} == {"checks"}

    report = await get(jp_fetch, "runs", run_id, "report")
    assert report.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = report.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts;")
    assert "allow-same-origin" not in csp and "default-src 'none'" in csp
    assert "connect-src" not in csp  # no network at all: default-src 'none' covers it
    assert report.headers["X-Content-Type-Options"] == "nosniff"
    html = report.body.decode()
    assert "Service checks" in html and "checked checkout with 3 replicas" in html
    assert "s3cr3t-t0ken" not in html

    notebook = body(await get(jp_fetch, "runs", run_id, "notebook"))
    assert notebook["name"] == "checks.ipynb"
    outputs = json.dumps(notebook["content"])
    assert "checked checkout with 3 replicas in quick mode" in outputs
    assert "s3cr3t-t0ken" not in outputs


async def test_invalid_parameters_never_start_a_run_and_name_each_field(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str
) -> None:
    response = await post(
        jp_fetch, "runbooks", "checks", "runs",
        data={"parameters": {"replicas": "three", "mode": "slow", "colour": "red"}},
        raise_error=False,
    )  # fmt: skip

    assert response.code == 400
    error = body(response)
    assert error["type"] == "ParameterError"
    assert set(error["fields"]) == {"service", "replicas", "mode", "colour"}
    assert error["fields"]["replicas"] == ["expected an integer, got 'three' (str)"]
    assert error["fields"]["service"][0].startswith("required")
    assert len(error["problems"]) == 4
    assert _manager(jp_serverapp).jobs == {}


async def test_a_value_out_of_the_cells_bounds_never_starts_a_run(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str
) -> None:
    response = await post(
        jp_fetch, "runbooks", "checks", "runs",
        data={"parameters": {"service": "checkout", "replicas": -5}}, raise_error=False,
    )  # fmt: skip

    assert response.code == 400
    assert body(response)["fields"] == {"replicas": ["expected >= 1, got -5"]}
    assert _manager(jp_serverapp).jobs == {}


@pytest.mark.parametrize(
    ("path", "data", "status", "field"),
    [
        (("runbooks", "nope", "runs"), {}, 404, None),
        (("runbooks", "checks", "runs"), {"parameters": [1]}, 400, "parameters"),
        (("runbooks", "checks", "runs"), {"executor": "slurm"}, 400, "executor"),
    ],
    ids=["unknown-runbook", "parameters-not-an-object", "unknown-executor"],
)
async def test_bad_run_requests_are_clear_json_errors(
    jp_fetch: Any, lab_profile: str, path: tuple[str, ...], data: Any, status: int,
    field: str | None,
) -> None:  # fmt: skip
    response = await post(jp_fetch, *path, data=data, raise_error=False)

    assert response.code == status
    error = body(response)
    if field:
        assert field in error["fields"]
    else:
        assert "no runbook named 'nope'" in error["message"]
        assert "checks" in error["message"]  # the known runbooks are listed


async def test_a_failing_run_shows_failed_with_its_error_line_and_keeps_its_report(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str
) -> None:
    run_id = body(await post(jp_fetch, "runbooks", "breaks", "runs"))["run"]["id"]

    await _finished(jp_serverapp, run_id)
    run = body(await get(jp_fetch, "runs", run_id))

    assert run["status"] == "failed"
    assert run["error"] == "ValueError: disk is full in cell 3"
    report = await get(jp_fetch, "runs", run_id, "report")
    assert "disk is full" in report.body.decode()
    listed = body(await get(jp_fetch, "runs", params={"status": "failed", "runbook": "breaks"}))
    assert run_id in [r["id"] for r in listed["runs"]]
    assert {r["status"] for r in listed["runs"]} == {"failed"}


async def test_the_pool_queues_beyond_its_size_and_cancels_queued_and_running_runs(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str, tmp_path: Path
) -> None:
    ready = tmp_path / "first-started"
    first = body(await post(jp_fetch, "runbooks", "waits", "runs",
                            data={"parameters": {"ready_file": str(ready)}}))["run"]  # fmt: skip
    second = body(await post(jp_fetch, "runbooks", "waits", "runs"))["run"]
    await wait_for_file(ready)

    states = {r["id"]: r["status"] for r in body(await get(jp_fetch, "runs"))["runs"]}
    assert states[first["id"]] == "running"
    assert states[second["id"]] == "queued"  # the server has one run worker

    cancelled = body(await post(jp_fetch, "runs", second["id"], "cancel"))
    assert cancelled["status"] == "cancelled"
    import hxb_lab as hx

    assert hx.runbooks.local_run(second["id"]).status == "cancelled"  # type: ignore[union-attr]
    await post(jp_fetch, "runs", first["id"], "cancel")
    await _finished(jp_serverapp, first["id"])

    run = body(await get(jp_fetch, "runs", first["id"]))
    assert run["status"] == "cancelled"
    assert run["has_report"]  # outputs are kept
    again = await post(jp_fetch, "runs", first["id"], "cancel", raise_error=False)
    assert again.code == 409
    assert "already finished: cancelled" in body(again)["message"]


async def test_a_run_still_running_when_the_server_stops_is_recorded_failed(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str, tmp_path: Path
) -> None:
    import hxb_lab as hx

    ready = tmp_path / "started"
    run_id = body(await post(jp_fetch, "runbooks", "waits", "runs",
                             data={"parameters": {"ready_file": str(ready)}}))["run"]["id"]  # fmt: skip
    queued = body(await post(jp_fetch, "runbooks", "waits", "runs"))["run"]["id"]
    await wait_for_file(ready)
    on_record = hx.runbooks.local_run(queued)  # before it starts
    assert on_record is not None and on_record.status == "queued"

    await jp_serverapp.extension_manager.stop_all_extensions()  # as the server does on exit

    recorded = hx.runbooks.runs(profile=lab_profile)
    row = recorded[recorded["run_id"] == run_id].iloc[0]
    assert row["status"] == "failed"
    assert "server stopped" in row["error"]
    assert row["finished"] == row["finished"]  # not NaT: the MLflow run is terminated
    assert body(await get(jp_fetch, "runs", run_id))["status"] == "failed"
    # The queued run is recorded cancelled, in MLflow and its run.json alike.
    waiting = recorded[recorded["run_id"] == queued]
    assert list(waiting["status"]) == ["cancelled"]
    assert "server stopped" in waiting.iloc[0]["error"]
    assert hx.runbooks.local_run(queued).status == "cancelled"  # type: ignore[union-attr]
    assert body(await get(jp_fetch, "runs", queued))["status"] == "cancelled"
    refused = await post(jp_fetch, "runbooks", "checks", "runs",
                         data={"parameters": {"service": "x"}}, raise_error=False)  # fmt: skip
    assert refused.code == 409
    assert "stopping" in body(refused)["message"]


async def test_unknown_run_ids_are_404(jp_fetch: Any, lab_profile: str) -> None:
    for path in (("runs", "20990101-000000-abcdef"), ("runs", "20990101-000000-abcdef", "report")):
        response = await get(jp_fetch, *path, raise_error=False)
        assert response.code == 404, path
        assert "20990101-000000-abcdef" in body(response)["message"]
