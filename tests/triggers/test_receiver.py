"""The receiver over HTTP (``AlertService`` on loopback): bad bodies and strangers are a
clear 4xx that starts nothing; a group starts one run; a storm is rate-limited per rule,
the skipped alerts counted; an alert seen again after its cooldown starts a run again."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hxb_lab.config import load_profile
from hxb_lab.triggers import AlertService, Receiver, Start
from tests.triggers.conftest import post, profile_text, webhook

DOWN = {"alertname": "ServiceDown", "service": "checkout", "replicas": "3"}


class Recorded:
    """The host's starter for these tests: it records each start instead of running it."""

    def __init__(self) -> None:
        self.starts: list[Start] = []

    def __call__(self, start: Start) -> str:
        self.starts.append(start)
        return f"run-{len(self.starts)}"


@pytest.fixture
def started() -> Recorded:
    return Recorded()


@pytest.fixture
def url(alerts_profile: Path, started: Recorded) -> Iterator[str]:
    service = AlertService(Receiver(load_profile(), started), "127.0.0.1", 0)
    thread = threading.Thread(target=service.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"{service.url}/hxb-lab/api/alerts"
    service.shutdown()
    service.server_close()
    thread.join()


def _body(**changes: object) -> bytes:
    data = json.loads(webhook({"labels": DOWN}))
    data.update(changes)
    return json.dumps(data).encode()


def _nested(depth: int) -> bytes:
    labels = '{"a": ' * depth + '"x"' + "}" * depth
    return _body()[:-1] + b', "extra": ' + labels.encode() + b"}"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (_body(version="3"), 400, "version: '3' is not a webhook version"),
        (_body(alerts=None), 400, "alerts: expected a list of alerts"),
        (_body(groupKey=7), 400, "groupKey: expected a string"),
        (_body(status="burning"), 400, "status: 'burning' is neither firing nor resolved"),
        (b"[1, 2]", 400, "body: expected Alertmanager's webhook JSON object"),
        (b"{not json", 400, "body: not valid JSON"),
        (
            webhook({"labels": {"alertname": "X", "n": 5}}),
            400,  # type: ignore[dict-item]
            "alerts[0].labels: expected an object of string values",
        ),
        (b"{" + b" " * (1024 * 1024 + 10) + b"}", 413, "bytes is more than the 1,048,576"),
        (_nested(50), 413, "nested more than 8 deep"),
        (
            webhook({"labels": {**DOWN, "replicas": "many"}}),
            400,
            "(service-down): replicas: expected an integer, got 'many'",
        ),
        (
            webhook({"labels": {"alertname": "Other", "runbook": "no-such"}}),
            400,
            "labels.runbook: 'no-such' names no runbook",
        ),
        (
            webhook({"labels": {"alertname": "ServiceDown", "replicas": "2"}}),
            400,
            "the alert 'ServiceDown' has no label 'service' for trigger rule 'service-down'",
        ),
    ],
    ids=[
        "version",
        "no-alerts",
        "group-key",
        "status",
        "array",
        "not-json",
        "label-type",
        "huge",
        "deep",
        "templated-int",
        "unknown-runbook",
        "missing-label",
    ],
)
def test_bad_input_is_a_clear_4xx_and_starts_nothing(
    url: str, token: str, started: Recorded, body: bytes, status: int, says: str
) -> None:
    code, answer = post(url, body, f"Bearer {token}")
    assert (code, answer["type"]) == (status, "LimitError" if status == 413 else "ParameterError")
    assert says in answer["message"], answer["message"]
    assert "Traceback" not in answer["message"]
    assert started.starts == []


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "token x", "Basic Og=="])
def test_a_request_without_the_token_is_401_and_starts_nothing(
    url: str, token: str, started: Recorded, authorization: str | None
) -> None:
    code, answer = post(url, webhook({"labels": DOWN}), authorization)
    assert code == 401 and "credentials" in answer["message"]
    assert started.starts == []


def test_a_group_starts_one_run_with_parameters_from_its_labels(
    url: str, token: str, started: Recorded
) -> None:
    other = {**DOWN, "service": "cart", "replicas": "1"}
    code, answer = post(url, webhook({"labels": DOWN}, {"labels": other}), f"Bearer {token}")
    assert code == 202
    assert answer["runs"] == [
        {"run_id": "run-1", "runbook": "checks", "rule": "service-down", "alerts": 2}
    ]
    (start,) = started.starts
    assert start.values["service"] in ("checkout", "cart")
    assert start.trigger["alert_count"] == 2 and start.trigger["group_key"] == "g1"
    # Resolved alerts and a group without a runbook start nothing.
    code, answer = post(url, webhook({"labels": DOWN}, status="resolved"), f"Bearer {token}")
    assert (code, answer["resolved"], answer["runs"]) == (200, 1, [])
    code, answer = post(url, webhook({"labels": {"alertname": "Nothing"}}), f"Bearer {token}")
    assert (code, answer["unmatched"]) == (200, 1)
    assert len(started.starts) == 1


def test_basic_auth_as_alertmanager_sends_it(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AM_PASSWORD", "s3cret")
    extra = 'username = "alertmanager"\npassword = { env = "AM_PASSWORD" }\n'
    profiles_file.write_text(profile_text(extra=extra).replace("token = ", "# token = "))
    receiver = Receiver(load_profile(), Recorded())
    good = "Basic " + base64.b64encode(b"alertmanager:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"alertmanager:guess").decode()
    assert receiver.receive(webhook({"labels": DOWN}), good)["runs"]
    with pytest.raises(Exception, match="does not carry the receiver's credentials"):
        receiver.receive(webhook({"labels": DOWN}, group="g2"), bad)


def test_a_profile_without_credentials_accepts_no_alert(profiles_file: Path) -> None:
    profiles_file.write_text(profile_text().replace("token = ", "# token = "))
    receiver = Receiver(load_profile(), Recorded())
    with pytest.raises(Exception, match="the profile names no credentials"):
        receiver.receive(webhook({"labels": DOWN}), "Bearer anything")


def test_a_storm_is_rate_limited_per_rule_and_repeats_are_deduplicated(
    profiles_file: Path, token: str
) -> None:
    profiles_file.write_text(profile_text(extra="max_runs = 5\nwindow_s = 60\ncooldown_s = 30\n"))
    clock = [0.0]
    started = Recorded()
    receiver = Receiver(load_profile(), started, clock=lambda: clock[0])
    auth = f"Bearer {token}"
    answers = [
        receiver.receive(webhook({"labels": {**DOWN, "service": f"s{i}"}}, group=f"g{i}"), auth)
        for i in range(200)
    ]
    assert len(started.starts) == 5
    assert sum(a["rate_limited"] for a in answers) == 195
    assert receiver.rate.skipped == {"service-down": 195}
    # The same alert again within the cooldown starts nothing; after it, a run again.
    clock[0] = 10.0
    assert (
        receiver.receive(webhook({"labels": {**DOWN, "service": "s0"}}, group="g0"), auth)[
            "deduplicated"
        ]
        == 1
    )
    clock[0] = 100.0
    assert receiver.receive(webhook({"labels": {**DOWN, "service": "s0"}}, group="g0"), auth)[
        "runs"
    ]
    assert len(started.starts) == 6


def test_a_restarted_receiver_remembers_its_cooldown_and_skipped_counts(
    profiles_file: Path, token: str, tmp_path: Path
) -> None:
    profiles_file.write_text(profile_text(extra="max_runs = 1\nwindow_s = 60\ncooldown_s = 30\n"))
    auth, state = f"Bearer {token}", tmp_path / "state"
    clock = [1_000_000.0]
    first = Recorded()
    receiver = Receiver(load_profile(), first, clock=lambda: clock[0], state_dir=state)
    assert receiver.receive(webhook({"labels": DOWN}), auth)["runs"]
    other = webhook({"labels": {**DOWN, "service": "cart"}}, group="g2")
    assert receiver.receive(other, auth)["rate_limited"] == 1
    receiver.close()  # the receiver stops
    # A new receiver on the same state directory: the group still firing starts nothing.
    clock[0] += 10.0
    again = Recorded()
    restarted = Receiver(load_profile(), again, clock=lambda: clock[0], state_dir=state)
    assert restarted.receive(webhook({"labels": DOWN}), auth)["deduplicated"] == 1
    assert restarted.receive(other, auth)["deduplicated"] == 1
    assert restarted.rate.skipped == {"service-down": 1}
    assert again.starts == []
    restarted.close()
    # After the cooldown and the window, the group starts a run again.
    clock[0] += 100.0
    assert Receiver(load_profile(), again, clock=lambda: clock[0], state_dir=state).receive(
        webhook({"labels": DOWN}), auth
    )["runs"]
    assert len(again.starts) == 1


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 1, "seen": "x"}', b"\xff"])
def test_an_unreadable_state_file_is_a_warning_and_an_empty_state(
    profiles_file: Path,
    token: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    content: bytes,
) -> None:
    profiles_file.write_text(profile_text())
    (tmp_path / "alerts-alerts.json").write_bytes(content)
    started = Recorded()
    receiver = Receiver(load_profile(), started, state_dir=tmp_path)
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "alerts-alerts.json" in warning.getMessage()
    assert "starting afresh" in warning.getMessage()
    assert receiver.receive(webhook({"labels": DOWN}), f"Bearer {token}")["runs"]
    receiver.close()
    # ... and the next run's state replaces it.
    assert json.loads((tmp_path / "alerts-alerts.json").read_text())["seen"][0][0] == "g1"
