"""The verdict of an alert's run, posted to a loopback webhook: Slack's ``{"text"}`` and the
generic JSON, with a report link that opens without credentials (pre-signed, from a real
S3 server); a webhook that does not answer is named by its host, never its secret path."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hxb_lab.config import load_profile
from hxb_lab.errors import BackendUnavailableError
from hxb_lab.runbooks import Run, get
from hxb_lab.runbooks._artifacts import ArtifactStore
from hxb_lab.triggers import Start, notify
from tests.conftest import require
from tests.runbooks.servers import S3Server, start_s3, stop, versitygw
from tests.support.processes import free_port
from tests.triggers.conftest import NOTIFY_ENV, Inbox, profile_text

REPORT = b"<html><body>the verdict</body></html>"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = versitygw()
    require(binary is not None, "versitygw, the S3 server built by tests/runbooks/build_s3.sh")
    assert binary is not None
    server = start_s3(binary, tmp_path_factory.mktemp("s3"))
    yield server
    stop(server.process)


@pytest.fixture
def ended(
    s3: S3Server, profiles_file: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Run, Start]:
    """A run of ``checks`` whose report is in the S3 store, and the alert that started it."""
    monkeypatch.setenv("HXB_TEST_S3_ACCESS", s3.access_key)
    monkeypatch.setenv("HXB_TEST_S3_SECRET", s3.secret_key)
    artifacts = (
        f'artifacts = {{ uri = "s3://{s3.bucket}/{tmp_path.name}", endpoint_url = "{s3.endpoint}", '
        'access_key = { env = "HXB_TEST_S3_ACCESS" }, secret_key = { env = "HXB_TEST_S3_SECRET" } }\n'
    )
    text = profile_text(notify=True, extra='notify_format = "slack"\n')
    profiles_file.write_text(
        text.replace("[profiles.alerts.alerts]", artifacts + "\n[profiles.alerts.alerts]")
    )
    profile = load_profile()
    local = tmp_path / "report.html"
    local.write_bytes(REPORT)
    uri = ArtifactStore.of(profile).put(local, f"s3://{s3.bucket}/{tmp_path.name}/r1/report.html")
    now = datetime.now(UTC)
    run = Run(id="20261206-120000-abcdef", runbook="checks", status="succeeded",
              started=now - timedelta(seconds=3), finished=now, report_uri=uri)  # fmt: skip
    trigger = {"rule": "service-down", "group_key": "g1",
               "alerts": [{"labels": {"alertname": "ServiceDown"}, "fingerprint": "f1"}]}  # fmt: skip
    return run, Start(get("checks", profile), {}, "service-down", trigger)


def test_the_verdict_reaches_slack_and_json_webhooks_with_a_link_that_opens(
    ended: tuple[Run, Start], inbox: Inbox
) -> None:
    run, start = ended
    profile = load_profile()
    notify(run, start, profile)
    (slack,) = inbox.wait_for(1)
    first, link = slack["text"].split("\nreport: ")
    assert first == f":white_check_mark: ServiceDown: run {run.id} of checks: succeeded in 3.0s"
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=86400" in link  # pre-signed, a day
    with urllib.request.urlopen(link, timeout=10) as response:  # no credentials needed
        assert response.read() == REPORT

    as_json = dataclasses.replace(
        profile, alerts=dataclasses.replace(profile.alerts, notify_format="json")
    )
    notify(run, start, as_json)
    posted = inbox.wait_for(2)[1]
    assert {k: posted[k] for k in ("run_id", "runbook", "status", "rule", "alertname")} == {
        "run_id": run.id, "runbook": "checks", "status": "succeeded", "rule": "service-down",
        "alertname": "ServiceDown",
    }  # fmt: skip
    assert posted["verdict"] == first.split(": ", 1)[1].removeprefix("ServiceDown: ")
    assert posted["report"].split("?")[0] == link.split("?")[0]


def test_a_webhook_that_does_not_answer_is_named_by_host_not_secret_path(
    ended: tuple[Run, Start], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, start = ended
    port = free_port()
    monkeypatch.setenv(NOTIFY_ENV, f"http://127.0.0.1:{port}/services/T0/B0/s3cretPath")
    with pytest.raises(BackendUnavailableError) as failed:
        notify(run, start, load_profile())
    assert f"127.0.0.1:{port}" in str(failed.value) and "s3cretPath" not in str(failed.value)
    assert f"the notification of run {run.id} was not delivered to 127.0.0.1" in str(failed.value)
