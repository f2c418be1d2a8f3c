"""A real Jupyter server (``jupyter lab`` or ``jupyter server``) in a subprocess, for the
browser test and the server benchmark: a free loopback port, a random token, an isolated
Jupyter config, readiness through ``/api/status``, and SIGTERM at the end (so the server
stops its runs as it does for a user), through `tests.support.processes`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import StartError, free_port, http_probe, start

#: The server did not start; the message names the command and ends with its log's tail.
JupyterError = StartError


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
        hint = "does not exist: run `make install`"
        raise JupyterError(executable.name, hint, [str(executable)], log, "")
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
    server = Jupyter(url=f"http://127.0.0.1:{port}", token=token, log=log)
    ready = http_probe(
        f"{server.url}/api/status", headers={"Authorization": f"token {token}"}, timeout=5
    )
    process = start(command, log, ready, timeout=timeout_s, env=clean, cwd=work)
    try:
        yield server
    finally:
        process.stop(grace=60)
