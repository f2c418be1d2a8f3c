"""A real `mlflow server` on loopback holding the demo scenario's registered models.

One server per test process, shared by the model and the inference tests (both conftests
ask `shared_registry()` for it) and stopped when the process exits. The scenario's
models are registered once, by `hxb_lab.models.demo.register_models`, so the registry
matches the simulated InferenceServices: llm-chat v7 ``champion``, v8 ``challenger``, ...
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MLFLOW = Path(sys.executable).parent / "mlflow"
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RegistryServer:
    url: str
    database: Path
    process: subprocess.Popen[bytes]

    def client(self) -> object:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


_lock = threading.Lock()
_server: RegistryServer | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mlflow server exited ({process.returncode}):\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise RuntimeError(
        f"mlflow server at {url} not healthy in {timeout:.0f}s:\n{log.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def shared_registry() -> RegistryServer:
    """The process's registry server, started (and filled) on first use."""
    global _server
    with _lock:
        if _server is not None:
            return _server
        if not MLFLOW.exists():
            raise FileNotFoundError(MLFLOW)
        home = Path(tempfile.mkdtemp(prefix="hxb-registry-"))
        database = home / "mlflow.db"
        _register(database, (home / "artifacts").as_uri())
        port = _free_port()
        log = home / "server.log"
        command = [
            str(MLFLOW), "server",
            "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
            "--default-artifact-root", (home / "artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        atexit.register(_stop, process)
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process, log, timeout=240)
        _server = RegistryServer(url, database, process)
        return _server


def _register(database: Path, artifacts: str) -> None:
    """Fill the server's backend store before it starts, through the library (hundreds
    of REST calls would cost a minute on a busy machine; the reads are what is tested)."""
    from mlflow.tracking import MlflowClient

    from hxb_lab.models.demo import register_models

    uri = f"sqlite:///{database}"
    register_models(
        MlflowClient(tracking_uri=uri, registry_uri=uri), int(NOW.timestamp() * 1000), artifacts
    )
