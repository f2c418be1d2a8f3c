"""A run whose artifact store refuses its outputs: read-only, or full.

Both stores are real filesystems mounted for the test (the tests run as root in their
container): a tmpfs mounted read-only (every write is EROFS), and a 64 KiB tmpfs that a
report (plotly.js alone is 4.8 MB) cannot fit in (ENOSPC). Where mounting is not allowed
the tests are skipped locally and fail in CI, as for any missing component.

The run goes through the command line, as a user starts it, and records to the session's
MLflow server. It still ends on record: ``failed`` with one line that names the store and
what to do, in ``run.json``, in MLflow and on the command line; no traceback; its outputs
kept in its run directory; nothing half-written left in the store.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import hxb_lab as hx
from tests.conftest import require
from tests.runbooks.conftest import BIN, FIXTURES
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
def read_only_store(tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem mounted read-only."""
    yield from _mounted(tmp_path / "read-only-store", "ro,size=1m")


@pytest.fixture
def full_store(tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem of 64 KiB, too small for any report."""
    yield from _mounted(tmp_path / "full-store", "size=64k")


def _profile(profiles_file: Path, mlflow_server: MlflowServer, store: Path) -> str:
    profiles_file.write_text(
        f"""
[profiles.store]
mlflow = {{ tracking_uri = "{mlflow_server.url}" }}
artifacts = {{ uri = "{store.as_uri()}" }}
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
    done: subprocess.CompletedProcess[str], hxb_env: Path, store: Path, cause: str
) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == 1, output  # a failed run, not bad input (2) or a crash
    saved = _only_run(hxb_env)
    line = f"cannot write the run's outputs to the artifact store {store.as_uri()}: {cause}"
    # One line naming the store and what to do, in the local record ...
    assert saved["status"] == "failed", saved
    assert saved["ename"] == "ArtifactStoreError"
    assert isinstance(saved["evalue"], str) and saved["evalue"].startswith(line)
    assert "\n" not in saved["evalue"] and "artifacts.uri" in saved["evalue"]
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
    profiles_file: Path, mlflow_server: MlflowServer, read_only_store: Path, hxb_env: Path
) -> None:
    done = _run_cli(_profile(profiles_file, mlflow_server, read_only_store))
    _assert_ended_on_record(done, hxb_env, read_only_store, "it is read-only")
    assert not any(read_only_store.iterdir())


def test_a_full_artifact_store_fails_the_run_on_record(
    profiles_file: Path, mlflow_server: MlflowServer, full_store: Path, hxb_env: Path
) -> None:
    done = _run_cli(_profile(profiles_file, mlflow_server, full_store))
    _assert_ended_on_record(done, hxb_env, full_store, "it is full")
    # Nothing half-written is left where the report would be read from.
    assert not [p for p in full_store.rglob("*") if p.is_file()]
