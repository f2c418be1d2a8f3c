"""A real Jupyter server (``jupyter lab`` or ``jupyter server``) in a subprocess, for the
browser test and the server benchmark: a free loopback port, a random token, an isolated
Jupyter config, readiness through ``/api/status``, and SIGTERM at the end (so the server
stops its runs as it does for a user)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class JupyterError(RuntimeError):
    """The server did not start; the message ends with the tail of its log."""


@dataclass
class Jupyter:
    url: str
    token: str
    log: Path

    def api(self, method: str, path: str, data: Any = None, timeout: float = 60.0) -> Any:
        """One token-authenticated call of ``/hxb-lab/api/<path>``; the decoded JSON body."""
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(
            f"{self.url}/hxb-lab/api/{path}", data=body, method=method,
            headers={"Authorization": f"token {self.token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(server: Jupyter, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(
        f"{server.url}/api/status", headers={"Authorization": f"token {server.token}"}
    )
    while True:
        if process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-3000:]
            raise JupyterError(f"jupyter exited with {process.returncode}:\n{tail}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(request, timeout=5) as response,
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            tail = server.log.read_text(errors="replace")[-3000:]
            raise JupyterError(f"jupyter did not answer within {timeout_s}s:\n{tail}")
        time.sleep(0.25)  # polling the readiness probe


@contextlib.contextmanager
def running_jupyter(
    app: str,
    base: Path,
    env: dict[str, str],
    log: Path,
    extra_args: list[str] | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Jupyter]:
    """Start ``jupyter <app>`` ("lab" or "server") under `base`; `env` adds HXB_LAB_*."""
    executable = Path(sys.executable).parent / f"jupyter-{app}"
    if not executable.exists():
        raise JupyterError(f"{executable} does not exist: run `make install`")
    work = base / "work"
    work.mkdir(parents=True, exist_ok=True)
    config = base / "jupyter-config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(  # no "Jupyter news?" toast
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    token = secrets.token_hex(16)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HXB_LAB_", "JUPYTER"))}
    clean.update(
        {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
         "HOME": str(base), **env}
    )  # fmt: skip
    command = [
        str(executable), "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}",
        "--ServerApp.jpserver_extensions={'hxb_lab': True}", *(extra_args or []),
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    server = Jupyter(url=f"http://127.0.0.1:{port}", token=token, log=log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=work, env=clean, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(server, process, timeout_s)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
