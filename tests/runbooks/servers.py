"""Real servers on loopback for the runbook tests and benchmarks (no pytest here).

- `start_mlflow`: ``mlflow server`` with a SQLite backend store.
- `start_s3`: versitygw, an S3-compatible gateway built from its Go module by
  ``build_s3.sh``, with its posix backend.

Each runs in its own session and is stopped by process group (`stop`); readiness is an
HTTP answer, polled, never a fixed sleep.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
S3_ACCESS_KEY = "hxb-test-access"
S3_SECRET_KEY = "hxb-test-secret-8f2c"  # a throwaway key of the throwaway test server
S3_BUCKET = "hxb-runs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll `url` until it answers (any HTTP status), the process exits, or time runs out."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"{url}: the server exited ({process.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, OSError):
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, and its children, by process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class MlflowServer:
    url: str
    database: Path  # its SQLite backend store
    process: subprocess.Popen[bytes] = field(repr=False)

    def __str__(self) -> str:
        return self.url


def start_mlflow(home: Path, timeout: float = 180) -> MlflowServer:
    """``mlflow server`` on a free loopback port, storing into `home`."""
    port = free_port()
    log = home / "mlflow-server.log"
    command = [
        str(BIN / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
        "--default-artifact-root", (home / "mlflow-artifacts").as_uri(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    process = _start(command, log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/health", process, log, timeout)
    except BaseException:
        stop(process)
        raise
    return MlflowServer(url, home / "mlflow.db", process)


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    root: Path  # where the posix backend keeps the objects
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip


def versitygw() -> Path | None:
    """The versitygw binary, built (or found in the cache) by ``build_s3.sh``."""
    script = Path(__file__).parent / "build_s3.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    path = Path(done.stdout.strip().splitlines()[-1])
    return path if path.exists() else None


def start_s3(binary: Path, home: Path, timeout: float = 60) -> S3Server:
    """versitygw (posix backend under `home`) on a free loopback port, with one bucket."""
    (home / "data").mkdir(parents=True)
    port = free_port()
    log = home / "s3-server.log"
    command = [
        str(binary), "--access", S3_ACCESS_KEY, "--secret", S3_SECRET_KEY,
        "--port", f"127.0.0.1:{port}", "posix", str(home / "data"),
    ]  # fmt: skip
    process = _start(command, log)
    server = S3Server(
        f"http://127.0.0.1:{port}", S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, home / "data", process
    )
    try:
        _wait_http(server.endpoint, process, log, timeout)
        server.client().create_bucket(Bucket=S3_BUCKET)
    except BaseException:
        stop(process)
        raise
    return server
