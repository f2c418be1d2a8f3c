"""The worker process of a local run, on its own: when its server disappears (stdin
closes and its stdout and stderr pipes break, as when the server is killed), it stops the
run and records it as failed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import FIXTURES, wait_for_file

pytestmark = pytest.mark.slow


async def test_a_worker_whose_server_is_gone_records_its_run_as_failed(
    lab_profile: str, tmp_path: Path
) -> None:
    import hxb_lab as hx

    ready = tmp_path / "started"
    spec = {"runbook": "waits", "path": str(FIXTURES / "waits.ipynb"), "profile": lab_profile,
            "run_id": hx.runbooks.new_run_id(), "parameters": {"ready_file": str(ready)}}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "hxb_lab.server._worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert worker.stdin is not None and worker.stdout is not None and worker.stderr is not None
    worker.stdin.write((json.dumps(spec) + "\n").encode())
    worker.stdin.flush()
    await wait_for_file(ready)

    # The server is gone, as after kill -9: every pipe to it is closed, nobody reads.
    worker.stdout.close()
    worker.stderr.close()
    worker.stdin.close()
    await asyncio.to_thread(worker.wait, 120)

    assert worker.returncode == 0
    result = hx.runbooks.local_run(spec["run_id"])
    assert result is not None
    assert result.status == "failed"
    assert result.evalue == "server stopped"
    recorded = hx.runbooks.runs("waits", profile=lab_profile)
    rows = recorded[recorded["run_id"] == spec["run_id"]]
    assert len(rows) == 1
    assert rows.iloc[0]["status"] == "failed"
    assert rows.iloc[0]["error"].startswith("RunInterrupted: server stopped")  # + where
    # Recorded failed by the run itself, so its report says so (not "cancelled").
    assert result.report is not None
    report = result.report.read_text()
    assert 'class="hxb-status hxb-status-failed"' in report and "server stopped" in report
    assert "hxb-status-cancelled" not in report.split("</style>", 1)[1]
