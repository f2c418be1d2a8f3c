"""One JupyterLab for the browser tests: demo profile, random token, free port, ready when
``/api/status`` answers; and Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = ROOT / "test-output" / "ui"


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def open_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def lab(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    import httpx

    root = tmp_path_factory.mktemp("lab-root")
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "HXB_LAB_HOME": str(demo_home),
        "PYTHONPATH": str(ROOT),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
    }
    env.pop("HXB_LAB_PROFILE", None)
    log = (tmp_path_factory.mktemp("lab-log") / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.token={token}",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--ServerApp.port_retries=0",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{url}/api/status?token={token}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer /api/status in 90 s; see {log.name}")
            time.sleep(0.25)  # polling a readiness probe, not waiting on luck
        # Render every cell, also those scrolled out of view, so each output can be checked.
        httpx.put(
            f"{url}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token={token}",
            json={"raw": '{"windowingMode": "none"}'},
            timeout=10,
        ).raise_for_status()
        yield Lab(url, token, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
