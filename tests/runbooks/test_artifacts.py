"""Run outputs in the artifact store: a real S3 server (versitygw) on loopback; a store
reads and writes inside itself only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.errors import HxbLabError, NotFoundError
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
    assert (run.status, run.ename) == ("failed", "ArtifactStoreError")  # outputs not stored
    assert run.evalue.startswith("cannot upload s3://hxb-runs/")
    assert run.report.exists()
    problems = [w for w in run.warnings if w.startswith("outputs not uploaded")]
    assert len(problems) == 1
    assert "cannot upload s3://hxb-runs/" in problems[0]
    assert "not-the-secret-key" not in problems[0]
    assert run.report_uri is None


def _file_store(root: Path) -> ArtifactStore:
    from hxb_lab.config import ArtifactsConfig

    (root / "runbooks" / "checks" / "r-1").mkdir(parents=True)
    (root / "runbooks" / "checks" / "r-1" / "report.html").write_text("<p>the report</p>")
    return ArtifactStore(ArtifactsConfig(root.as_uri()))


def test_a_file_store_reads_inside_itself_only(tmp_path: Path) -> None:
    store = _file_store(tmp_path / "artifacts")
    inside = f"{store.uri}/runbooks/checks/r-1/report.html"
    assert store.get(inside) == b"<p>the report</p>"
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the content of a file outside")
    (tmp_path / "artifacts" / "runbooks" / "link.html").symlink_to(secret)
    (tmp_path / "artifacts-next-door").mkdir()
    (tmp_path / "artifacts-next-door" / "x.html").write_text("next door")
    outside = [
        "file:///etc/passwd",
        secret.as_uri(),
        f"{store.uri}/runbooks/../../secret.txt",  # `..` resolved
        f"{store.uri}/runbooks/%2e%2e/../secret.txt",  # `..` percent-encoded
        f"{store.uri}/runbooks/link.html",  # a symlink inside, to a file outside
        f"{store.uri}-next-door/x.html",  # a sibling whose name starts alike
        f"file://elsewhere{(tmp_path / 'artifacts').as_posix()}/runbooks/checks/r-1/report.html",
        "s3://hxb-runs/runbooks/checks/r-1/report.html",
        "http://127.0.0.1:9/report.html",
    ]
    for uri in outside:
        assert not store.owns(uri), uri
        with pytest.raises(NotFoundError, match="is outside the artifact store") as caught:
            store.get(uri)
        assert "root:x:0:0" not in str(caught.value) and "next door" not in str(caught.value)
    with pytest.raises(HxbLabError, match="outside the artifact store"):
        store.put(secret, f"{store.uri}/../written.html")
    assert not (tmp_path / "written.html").exists()


def test_an_s3_store_reads_its_bucket_and_prefix_only() -> None:
    from hxb_lab.config import ArtifactsConfig

    store = ArtifactStore(
        ArtifactsConfig("s3://hxb-runs/team-a", endpoint_url="http://127.0.0.1:9")
    )
    assert store.owns("s3://hxb-runs/team-a/runbooks/checks/r-1/report.html")
    for uri in (
        "s3://other-bucket/team-a/report.html",
        "s3://hxb-runs/team-b/report.html",
        "s3://hxb-runs/team-a-b/report.html",
        "s3://hxb-runs/team-a/../team-b/report.html",
        "s3://hxb-runs/team-a/%2E%2E/team-b/report.html",
        "file:///etc/passwd",
    ):
        assert not store.owns(uri), uri
        with pytest.raises(NotFoundError, match="is outside the artifact store"):
            store.get(uri)  # refused before any request: nothing listens on port 9


def test_a_report_recorded_outside_the_store_is_not_read_and_the_error_names_the_run(
    tmp_path: Path, profiles_file: Path
) -> None:
    from hxb_lab.config import load_profile
    from hxb_lab.runbooks._history import read_report

    _file_store(tmp_path / "artifacts")
    profiles_file.write_text(
        f'[profiles.p]\nartifacts = {{ uri = "{(tmp_path / "artifacts").as_uri()}" }}\n'
    )
    profile = load_profile("p")
    row = {"run_id": "20261206-100000-abc123", "report_uri": "file:///etc/passwd"}
    with pytest.raises(NotFoundError, match="report of run '20261206-100000-abc123'") as caught:
        read_report(row, profile)
    assert "root:" not in str(caught.value)
    row["report_uri"] = f"{(tmp_path / 'artifacts').as_uri()}/runbooks/checks/r-1/report.html"
    assert read_report(row, profile) == b"<p>the report</p>"
