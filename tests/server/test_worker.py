"""The worker process of a local run, on its own: when its server disappears (stdin
closes, as when the server is killed), it stops the run and records it as failed."""

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
            "run_id": "20250101-000000-feed01", "parameters": {"ready_file": str(ready)}}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "hxb_lab.server._worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert worker.stdin is not None
    worker.stdin.write((json.dumps(spec) + "\n").encode())
    worker.stdin.flush()
    await wait_for_file(ready)

    worker.stdin.close()  # the server is gone
    assert worker.stdout is not None and worker.stderr is not None
    stdout = await asyncio.to_thread(worker.stdout.read)
    await asyncio.to_thread(worker.wait, 120)
    stderr = worker.stderr.read()

    assert worker.returncode == 0, stderr.decode()[-2000:]
    result = json.loads(stdout.decode().strip().splitlines()[-1])["run"]
    assert result["status"] == "failed"
    assert result["evalue"] == "server stopped"
    recorded = hx.runbooks.runs("waits", profile=lab_profile)
    row = recorded[recorded["run_id"] == spec["run_id"]].iloc[0]
    assert row["status"] == "failed"
    assert row["error"].startswith("RunInterrupted: server stopped")  # + where it stopped
    # Recorded failed by the run itself, so its report says so (not "cancelled").
    report = Path(result["report"]).read_text()
    assert 'class="hxb-status hxb-status-failed"' in report and "server stopped" in report
    assert "hxb-status-cancelled" not in report.split("</style>", 1)[1]
