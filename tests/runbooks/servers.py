"""An S3 server on loopback for the runbook tests (no pytest here).

`start_s3`: versitygw, an S3-compatible gateway built from its Go module by
``build_s3.sh``, with its posix backend, started and stopped by `tests.support.processes`
(ready when it answers HTTP at all). The MLflow tracking server is the session's shared
one (`tests.support.mlflow_server`).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import Process, free_port, http_probe, start, stop

BIN = Path(sys.executable).parent
S3_ACCESS_KEY = "hxb-test-access"
S3_SECRET_KEY = "hxb-test-secret-8f2c"  # a throwaway key of the throwaway test server
S3_BUCKET = "hxb-runs"

__all__ = ["BIN", "S3Server", "free_port", "start_s3", "stop", "versitygw"]


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    root: Path  # where the posix backend keeps the objects
    process: Process = field(repr=False)

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
    endpoint = f"http://127.0.0.1:{port}"
    process = start(command, log, http_probe(endpoint, status=None), timeout=timeout)
    server = S3Server(endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, home / "data", process)
    try:
        server.client().create_bucket(Bucket=S3_BUCKET)
    except BaseException:
        stop(process)
        raise
    return server
