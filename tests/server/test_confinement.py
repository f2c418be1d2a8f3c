"""What a request may reach: runbooks of the catalog only, a run's outputs in its own
directory or in the profile's artifact store only, and no secret in any answer.

Through the Jupyter server in-process (pytest-jupyter), with its worker processes.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.runbooks.conftest import FIXTURES as RUNBOOK_FIXTURES
from tests.runbooks.test_redaction import MARKERS, leaks, plant_secrets
from tests.runbooks.test_report import CHROMIUM, CHROMIUM_ARGS
from tests.server._jupyter import running_jupyter
from tests.server.conftest import body, get, post

NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {},
               "outputs": [], "source": "open('ran.txt', 'w').write('it ran')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}  # fmt: skip


def _record(profile_name: str, run_id: str, **fields: Any) -> None:
    """A run recorded in the profile's MLflow as another process would have recorded it."""
    from hxb_lab.clients.mlflow import open_recording_store
    from hxb_lab.config import load_profile
    from hxb_lab.runbooks import Run
    from hxb_lab.runbooks._history import complete_run, open_run

    profile = load_profile(profile_name)
    now = datetime.now(UTC)
    run = Run(id=run_id, runbook="checks", status="failed", started=now, finished=now,
              profile=profile_name, **fields)  # fmt: skip
    store = open_recording_store(profile)
    try:
        complete_run(store, open_run(store, profile, run)["info"]["run_id"], run)
    finally:
        store.close()


@pytest.mark.parametrize("route", ["runs", "schedules"])
async def test_a_notebook_outside_the_catalog_is_never_run(
    jp_fetch: Any, jp_serverapp: Any, lab_profile: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, route: str,
) -> None:  # fmt: skip
    from hxb_lab.runbooks import runs_root
    from hxb_lab.server.app import RUNS_SETTING

    monkeypatch.chdir(tmp_path)  # the server's working directory
    (tmp_path / "stray.ipynb").write_text(json.dumps(NOTEBOOK))
    before = set(runs_root().rglob("*")) if runs_root().exists() else set()

    for name in ("stray.ipynb", "stray", "checks.ipynb"):
        response = await post(jp_fetch, "runbooks", name, route,
                              data={"cron": "0 6 * * *"}, raise_error=False)  # fmt: skip
        assert response.code == 404, (name, response.body)
        message = body(response)["message"]
        assert f"no runbook named {name!r} in the catalog of profile 'lab'" in message
        assert "checks" in message.split("known runbooks:")[1]

    assert jp_serverapp.web_app.settings[RUNS_SETTING].jobs == {}
    after = set(runs_root().rglob("*")) if runs_root().exists() else set()
    assert after == before  # nothing written
    assert not (tmp_path / "ran.txt").exists()


async def test_a_report_recorded_outside_the_artifact_store_is_refused(
    jp_fetch: Any, lab_profile: str
) -> None:
    from hxb_lab.runbooks import new_run_id

    run_id = new_run_id()
    await asyncio.to_thread(
        _record, lab_profile, run_id,
        report_uri="file:///etc/passwd", notebook_uri="file:///etc/hostname",
    )  # fmt: skip

    for which in ("report", "notebook"):
        response = await get(jp_fetch, "runs", run_id, which, raise_error=False)
        assert response.code == 404, response.body
        message = body(response)["message"]
        assert f"of run {run_id!r} is not in the artifact store of profile 'lab'" in message
        assert "root:" not in response.body.decode()


async def test_a_run_record_pointing_outside_its_directory_is_refused(
    jp_fetch: Any, lab_profile: str
) -> None:
    from hxb_lab.runbooks import Run, new_run_id, runs_root

    run_id = new_run_id()
    directory = runs_root() / "checks" / run_id
    directory.mkdir(parents=True)
    Run(id=run_id, runbook="checks", status="succeeded", started=datetime.now(UTC),
        profile="lab", directory=directory, report=Path("/etc/passwd"),
        output_notebook=directory / ".." / ".." / "elsewhere.ipynb").save()  # fmt: skip

    response = await get(jp_fetch, "runs", run_id, "report", raise_error=False)
    assert response.code == 404
    assert (
        f"the report of run {run_id!r} is recorded outside its run directory"
        in (body(response)["message"])
    )
    assert "root:" not in response.body.decode()


async def test_no_secret_reaches_a_rest_answer(
    jp_fetch: Any, jp_serverapp: Any, profiles_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from hxb_lab.server.app import RUNS_SETTING

    profile = plant_secrets(profiles_file, tmp_path / "secrets", monkeypatch)
    monkeypatch.setenv("HXB_LAB_PROFILE", profile)
    # A run recorded elsewhere, whose error carries a secret this server can resolve.
    await asyncio.to_thread(
        _record, profile, "20261206-100000-0ld000", ename="RuntimeError",
        evalue=f"login refused: {MARKERS['env secret']}",
    )  # fmt: skip

    started = body(await post(jp_fetch, "runbooks", "leaks_secrets", "runs",
                              data={"parameters": {"token": MARKERS["secret parameter"]}}))  # fmt: skip
    run_id = started["run"]["id"]
    await jp_serverapp.web_app.settings[RUNS_SETTING].get(run_id).done.wait()

    listed = await get(jp_fetch, "runs")
    runs = {r["id"]: r for r in body(listed)["runs"]}
    assert runs[run_id]["status"] == "failed"
    assert runs[run_id]["error"].startswith("RuntimeError: login refused: *** ***")
    assert runs["20261206-100000-0ld000"]["error"] == "RuntimeError: login refused: ***"
    answers = [listed, await get(jp_fetch, "runs", run_id),
               await get(jp_fetch, "runs", "20261206-100000-0ld000"),
               await get(jp_fetch, "runs", run_id, "report"),
               await get(jp_fetch, "runs", run_id, "notebook")]  # fmt: skip
    for answer in answers:
        assert leaks(answer.body.decode()) == [], answer.effective_url
    assert "clickhouse password: ***" in answers[-1].body.decode()


@pytest.mark.browser
@pytest.mark.slow
def test_output_html_stays_inert_in_the_report_the_server_serves(tmp_path: Path) -> None:
    require(CHROMIUM.exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[profiles.lab]\nrunbooks = {{ directories = ["{RUNBOOK_FIXTURES}"] }}\n')
    env = {"HXB_LAB_HOME": str(tmp_path / "home"), "HXB_LAB_CONFIG": str(profiles),
           "HXB_LAB_PROFILE": "lab"}  # fmt: skip
    with running_jupyter("server", tmp_path, env, tmp_path / "jupyter.log") as server:
        run_id = server.api("POST", "runbooks/injects_script/runs", {})["run"]["id"]
        deadline = time.monotonic() + 240
        while (status := server.api("GET", f"runs/{run_id}")["status"]) in ("queued", "running"):
            assert time.monotonic() < deadline, "the run did not finish within 240 s"
            time.sleep(0.5)  # the run's status is the readiness probe: no event to wait on
        assert status == "succeeded"

        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = chromium.new_page()
                page.goto(f"{server.url}/hxb-lab/api/runs/{run_id}/report?token={server.token}")
                page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)  # drawn
                assert page.locator(".from-the-cluster img").count() == 1  # shown, inert
                assert page.evaluate("[typeof window.__pwned, typeof window.__pwned_img]") == [
                    "undefined",
                    "undefined",
                ]
            finally:
                chromium.close()
