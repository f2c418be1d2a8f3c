"""Fixtures of the runbook tests: a real MLflow tracking server and a real S3 server.

Both run on loopback for the whole session: the session's shared `mlflow server`
(``mlflow_server`` of ``tests/conftest.py``, SQLite backend; runs go to experiments
``runbooks/<name>``) and versitygw (an S3-compatible gateway built from its Go module by
``build_s3.sh``, posix backend).
Runbook fixtures are notebooks named by the behaviour they pin, in ``fixtures/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, require
from tests.runbooks.servers import BIN, S3Server, free_port, start_s3, stop, versitygw
from tests.support.mlflow_server import MlflowServer

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    """The path of a runbook fixture, e.g. ``fixture("succeeds")``."""
    return FIXTURES / f"{name}.ipynb"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """versitygw (posix backend) on a free loopback port, with the bucket ``hxb-runs``."""
    binary = versitygw()
    require(binary is not None, "versitygw, the S3 server built by tests/runbooks/build_s3.sh")
    assert binary is not None
    server = start_s3(binary, tmp_path_factory.mktemp("s3-server"))
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture
def lab_profile(
    profiles_file: Path,
    mlflow_server: MlflowServer,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A profile ``lab``: MLflow on the test server, artifacts in the test S3 bucket, with
    the access keys read from environment variables as in production. Returns its name."""
    monkeypatch.setenv("HXB_TEST_S3_ACCESS", s3_server.access_key)
    monkeypatch.setenv("HXB_TEST_S3_SECRET", s3_server.secret_key)
    prefix = f"s3://{s3_server.bucket}/{tmp_path.name}"
    profiles_file.write_text(
        f"""
[profiles.lab]
description = "MLflow server and S3 on loopback"
mlflow = {{ tracking_uri = "{mlflow_server.url}" }}
artifacts = {{ uri = "{prefix}", endpoint_url = "{s3_server.endpoint}", access_key = {{ env = "HXB_TEST_S3_ACCESS" }}, secret_key = {{ env = "HXB_TEST_S3_SECRET" }} }}
runbooks = {{ directories = ["{FIXTURES}"] }}
"""
    )
    return "lab"


@pytest.fixture
def local_profile(profiles_file: Path, mlflow_server: MlflowServer, tmp_path: Path) -> str:
    """A profile ``local``: MLflow on the test server, artifacts under ``file://``."""
    profiles_file.write_text(
        f"""
[profiles.local]
mlflow = {{ tracking_uri = "{mlflow_server.url}" }}
artifacts = {{ uri = "{(tmp_path / "artifacts").as_uri()}" }}
runbooks = {{ directories = ["{FIXTURES}"] }}
"""
    )
    return "local"


__all__ = ["BIN", "FIXTURES", "ROOT", "MlflowServer", "S3Server", "fixture", "free_port"]
