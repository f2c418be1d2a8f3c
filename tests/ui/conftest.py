"""One JupyterLab for the browser tests: demo profile, random token, free port, ready when
``/api/status`` answers; and Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.processes import free_port, start

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
        """`path` opened in a fresh workspace of its own (named after it), so a tab another
        test left open in the lab cannot stand in its way."""
        workspace = Path(path).stem
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"


@pytest.fixture(scope="session")
def lab(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    import httpx

    root = tmp_path_factory.mktemp("lab-root")
    token = secrets.token_hex(16)
    port = free_port()
    env = {
        **os.environ,
        "HXB_LAB_HOME": str(demo_home),
        "PYTHONPATH": str(ROOT),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
    }
    env.pop("HXB_LAB_PROFILE", None)
    command = [
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
    ]
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("lab-log") / "jupyterlab.log"
    ready = f"{url}/api/status?token={token}"
    process = start(command, log, ready, timeout=90, env=env, name="JupyterLab")
    try:
        # Render every cell, also those scrolled out of view, so each output can be checked.
        httpx.put(
            f"{url}/lab/api/settings/@jupyterlab/notebook-extension:tracker?token={token}",
            json={"raw": '{"windowingMode": "none"}'},
            timeout=10,
        ).raise_for_status()
        # No "get notified about Jupyter news?" toast over the screenshots.
        httpx.put(
            f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}",
            json={"raw": '{"fetchNews": "false"}'},
            timeout=10,
        ).raise_for_status()
        yield Lab(url, token, root)
    finally:
        process.stop(grace=20)


@pytest.fixture
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
