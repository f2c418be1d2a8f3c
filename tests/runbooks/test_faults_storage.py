"""A run whose artifact store refuses its outputs: read-only, or full.

Both stores are real filesystems mounted for the test (the tests run as root in their
container, where a mode of 0555 stops no write): a tmpfs mounted read-only (every write is
EROFS; not as root, a directory of mode 0555 instead), and a 64 KiB tmpfs that a report
(plotly.js alone is 4.8 MB) cannot fit in (ENOSPC), also under an S3 server (versitygw)
of its own. Where mounting is not allowed the full stores are skipped locally and fail in
CI, as for any missing component.

The run goes through the command line, as a user starts it, and records to the session's
MLflow server. It still ends on record: ``failed`` with one line that names the store and
what to do, in ``run.json``, in MLflow and on the command line; no traceback; its outputs
kept in its run directory; nothing half-written left in the store.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import hxb_lab as hx
from tests.conftest import require
from tests.runbooks.conftest import BIN, FIXTURES
from tests.runbooks.servers import S3Server, start_s3, stop, versitygw
from tests.support.mlflow_server import MlflowServer


def _mounted(target: Path, options: str) -> Iterator[Path]:
    target.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "hxb-test-store", str(target)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    require(done.returncode == 0, f"a tmpfs mount for the artifact store ({done.stderr.strip()})")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory on a filesystem mounted read-only (as root, whom a mode does not stop),
    else a directory of mode 0555; with what the run says of it."""
    if os.geteuid() != 0:
        store = tmp_path / "read-only-store"
        store.mkdir(mode=0o555)
        yield store, "it is not writable"
        store.chmod(0o755)
        return
    for store in _mounted(tmp_path / "read-only-store", "ro,size=1m"):
        yield store, "it is read-only"


@pytest.fixture
def full_store(tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem of 64 KiB, too small for any report."""
    yield from _mounted(tmp_path / "full-store", "size=64k")


def _profile(
    profiles_file: Path, mlflow_server: MlflowServer, store: str, s3: S3Server | None = None
) -> str:
    artifacts = f'uri = "{store}"'
    if s3 is not None:
        artifacts += (
            f', endpoint_url = "{s3.endpoint}", access_key = {{ env = "HXB_TEST_S3_ACCESS" }}'
            ', secret_key = { env = "HXB_TEST_S3_SECRET" }'
        )
    profiles_file.write_text(
        f"""
[profiles.store]
mlflow = {{ tracking_uri = "{mlflow_server.url}" }}
artifacts = {{ {artifacts} }}
runbooks = {{ directories = ["{FIXTURES}"] }}
"""
    )
    return "store"


def _run_cli(profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "run", "untyped_parameters", "--profile", profile],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _only_run(hxb_env: Path) -> dict[str, object]:
    records = list((hxb_env / "runs" / "untyped_parameters").glob("*/run.json"))
    assert len(records) == 1, records
    saved: dict[str, object] = json.loads(records[0].read_text())
    return saved


def _assert_ended_on_record(
    done: subprocess.CompletedProcess[str], hxb_env: Path, store: str, cause: str
) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == 1, output  # a failed run, not bad input (2) or a crash
    saved = _only_run(hxb_env)
    line = f"cannot write the run's outputs to the artifact store {store}: {cause}"
    if store.startswith("s3:"):  # S3 names the object and the server
        line = f"cannot {cause}"
    # One line naming the store and what to do, in the local record ...
    assert saved["status"] == "failed", saved
    assert saved["ename"] == "ArtifactStoreError"
    assert isinstance(saved["evalue"], str) and saved["evalue"].startswith(line)
    assert "\n" not in saved["evalue"]
    assert "artifacts.uri" in saved["evalue"] or "artifacts.endpoint_url" in saved["evalue"]
    assert saved["report_uri"] is None and saved["notebook_uri"] is None
    assert not (Path(str(saved["directory"])) / "lease.json").exists()
    # ... on the command line (the summary and nothing like a traceback) ...
    assert "failed in " in done.stdout and line in done.stdout
    # ... and in MLflow, with the outputs still in the run directory.
    row = hx.runbooks.find_run(str(saved["id"]), "store")
    assert row["status"] == "failed" and str(row["error"]).startswith(f"ArtifactStoreError: {line}")
    assert row["report_uri"] is None
    assert Path(str(saved["report"])).is_file()
    assert Path(str(saved["output_notebook"])).is_file()


def test_a_read_only_artifact_store_fails_the_run_on_record(
    profiles_file: Path,
    mlflow_server: MlflowServer,
    read_only_store: tuple[Path, str],
    hxb_env: Path,
) -> None:
    store, cause = read_only_store
    done = _run_cli(_profile(profiles_file, mlflow_server, store.as_uri()))
    _assert_ended_on_record(done, hxb_env, store.as_uri(), cause)
    assert not any(store.iterdir())


def test_a_full_artifact_store_fails_the_run_on_record(
    profiles_file: Path, mlflow_server: MlflowServer, full_store: Path, hxb_env: Path
) -> None:
    done = _run_cli(_profile(profiles_file, mlflow_server, full_store.as_uri()))
    _assert_ended_on_record(done, hxb_env, full_store.as_uri(), "it is full")
    # Nothing half-written is left where the report would be read from.
    assert not [p for p in full_store.rglob("*") if p.is_file()]


@pytest.fixture
def full_s3(tmp_path: Path) -> Iterator[S3Server]:
    """An S3 server of its own whose disk (a 256 KiB tmpfs) has no room for a report."""
    binary = versitygw()
    require(binary is not None, "versitygw, the S3 server built by tests/runbooks/build_s3.sh")
    assert binary is not None
    for home in _mounted(tmp_path / "s3-disk", "size=256k"):
        server = start_s3(binary, home)
        try:
            yield server
        finally:
            stop(server.process)


def test_a_full_s3_store_fails_the_run_on_record(
    profiles_file: Path,
    mlflow_server: MlflowServer,
    full_s3: S3Server,
    hxb_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HXB_TEST_S3_ACCESS", full_s3.access_key)
    monkeypatch.setenv("HXB_TEST_S3_SECRET", full_s3.secret_key)
    store = f"s3://{full_s3.bucket}/runs"
    done = _run_cli(_profile(profiles_file, mlflow_server, store, full_s3))
    _assert_ended_on_record(done, hxb_env, store, f"upload {store}/runbooks/untyped_parameters/")
    evalue = str(_only_run(hxb_env)["evalue"])
    assert full_s3.endpoint in evalue and "InsufficientStorage" in evalue  # the disk, said so
    listed = full_s3.client().list_objects_v2(Bucket=full_s3.bucket)
    assert not listed.get("Contents")  # nothing half-written to be read as a report
