"""Run outputs in an S3 artifact store: a real S3 server (versitygw) on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.errors import NotFoundError
from hxb_lab.runbooks._artifacts import ArtifactStore
from tests.runbooks.conftest import BIN, S3Server


def test_the_notebook_and_report_go_to_the_s3_bucket(lab_profile: str, s3_server: S3Server) -> None:
    run = hx.runbooks.get("succeeds", lab_profile).run({"service": "s3"}, lab_profile)
    assert run.status == "succeeded" and not run.warnings, run.warnings
    assert run.report_uri and run.report_uri.startswith(f"s3://{s3_server.bucket}/")
    assert run.report_uri.endswith("/report.html")
    bucket, _, key = run.report_uri.removeprefix("s3://").partition("/")
    stored = s3_server.client().get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == run.report.read_bytes()
    assert stored["ContentType"].startswith("text/html")
    assert (s3_server.root / bucket / key).exists()  # the server really wrote it
    notebook_key = run.notebook_uri.removeprefix(f"s3://{bucket}/")
    assert (s3_server.root / bucket / notebook_key).read_bytes() == run.output_notebook.read_bytes()

    # The CLI finds the run in MLflow and fetches its report from S3.
    target = Path(run.directory).parent / "fetched.html"
    done = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "report", run.id, "--profile", lab_profile,
         "--output", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == run.report.read_bytes()
    printed = subprocess.run(
        [str(BIN / "hxb-lab"), "runbook", "report", run.id, "--profile", lab_profile],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert printed.stdout.strip() == run.report_uri

    store = ArtifactStore.of(hx.connect(lab_profile).profile)
    with pytest.raises(NotFoundError, match="no artifact at s3://"):
        store.get(run.report_uri + ".missing")


def test_wrong_s3_credentials_keep_the_run_and_name_the_store(
    lab_profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HXB_TEST_S3_SECRET", "not-the-secret-key")
    run = hx.runbooks.get("untyped_parameters", lab_profile).run({}, lab_profile)
    assert run.status == "succeeded"
    assert run.report.exists()
    problems = [w for w in run.warnings if w.startswith("outputs not uploaded")]
    assert len(problems) == 1
    assert "cannot upload s3://hxb-runs/" in problems[0]
    assert "not-the-secret-key" not in problems[0]
    assert run.report_uri is None
