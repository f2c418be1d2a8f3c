"""Fixtures of the trigger tests: a profile whose alerts start the ``checks`` runbook of
tests/server/fixtures, a loopback inbox for notifications, the receiver as ``hxb-lab
serve`` (a real process), and Debian's Alertmanager sending to it.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tests.support.processes import Process, free_port, start

FIXTURES = ROOT / "tests" / "server" / "fixtures"
TOKEN_ENV = "HXB_LAB_TEST_ALERTS_TOKEN"
NOTIFY_ENV = "HXB_LAB_TEST_NOTIFY_URL"


def profile_text(*, notify: bool = False, rules: str | None = None, extra: str = "") -> str:
    """The profile ``alerts``: bearer token from TOKEN_ENV, the rule ServiceDown -> checks
    (service and replicas from the alert's labels)."""
    if rules is None:
        rules = (
            '[[profiles.alerts.alerts.rules]]\nname = "service-down"\nrunbook = "checks"\n'
            'match = { alertname = "ServiceDown" }\n'
            'parameters = { service = "{labels.service}", replicas = "{labels.replicas}" }\n'
        )
    notify_line = f'notify_url = {{ env = "{NOTIFY_ENV}" }}\n' if notify else ""
    return (
        'default = "alerts"\n\n[profiles.alerts]\n'
        f'runbooks = {{ directories = ["{FIXTURES}"] }}\n\n'
        f'[profiles.alerts.alerts]\ntoken = {{ env = "{TOKEN_ENV}" }}\n{notify_line}{extra}\n'
        f"{rules}"
    )


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = secrets.token_hex(16)
    monkeypatch.setenv(TOKEN_ENV, value)
    return value


@pytest.fixture
def alerts_profile(profiles_file: Path, token: str, inbox: Inbox) -> Path:
    """The profile ``alerts``, posting each verdict to `inbox` (see `profile_text`)."""
    profiles_file.write_text(profile_text(notify=True))
    return profiles_file


@dataclass
class Inbox:
    """A loopback HTTP server that keeps every JSON body POSTed to it."""

    url: str
    bodies: list[Any] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 120.0) -> list[Any]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.bodies) >= count, timeout)
        assert ok, f"{len(self.bodies)} notification(s) arrived within {timeout}s, not {count}"
        return list(self.bodies)


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    box = Inbox(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with box.arrived:
                box.bodies.append(json.loads(body))
                box.arrived.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-path"
    monkeypatch.setenv(NOTIFY_ENV, box.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class Service:
    url: str
    process: Process

    @property
    def alerts_url(self) -> str:
        return f"{self.url}/hxb-lab/api/alerts"

    def answers(self) -> list[dict[str, Any]]:
        """The receiver's answers so far, as its log records them."""
        lines = self.process.log.read_text().splitlines()
        return [json.loads(line.split(" alerts: ", 1)[1]) for line in lines if " alerts: " in line]

    def statuses(self) -> list[int]:
        """The HTTP status of each alert request, as the log records them."""
        lines = self.process.log.read_text().splitlines()
        marker = 'POST /hxb-lab/api/alerts HTTP/1.1" '
        return [int(line.split(marker)[1].split()[0]) for line in lines if marker in line]


@pytest.fixture
def service(alerts_profile: Path, tmp_path: Path) -> Iterator[Service]:
    """``hxb-lab serve`` on a free loopback port (environment of the test: profile, home)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "hxb_lab.cli", "serve", "--port", str(port), "--workers", "1"]
    with start(command, tmp_path / "serve.log", f"{url}/healthz", cwd=ROOT) as process:
        yield Service(url, process)


def post(url: str, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
    """POST `body`; the status and the JSON answer, whatever the status."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def webhook(*alerts: dict[str, Any], status: str = "firing", group: str = "g1") -> bytes:
    """A v4 webhook body as Alertmanager sends it."""
    items = [
        {"status": a.get("status", status), "labels": a["labels"],
         "annotations": a.get("annotations", {}), "startsAt": "2026-01-01T00:00:00Z",
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
         "fingerprint": a.get("fingerprint", "f" + json.dumps(a["labels"], sort_keys=True)[:12])}
        for a in alerts
    ]  # fmt: skip
    return json.dumps(
        {
            "version": "4",
            "receiver": "hxb-lab",
            "status": status,
            "groupKey": group,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "",
            "truncatedAlerts": 0,
            "alerts": items,
        }
    ).encode()


def run_records(home: Path, runbook: str = "checks") -> list[dict[str, Any]]:
    """The run.json of every run of `runbook` under HXB_LAB_HOME."""
    return [json.loads(p.read_text()) for p in sorted((home / "runs" / runbook).glob("*/run.json"))]


@contextlib.contextmanager
def alertmanager_to(url: str, token: str, root: Path) -> Iterator[str]:
    """Debian's Alertmanager sending every group to `url` with `token` (a bearer token), and
    the alerts labelled ``team=strangers`` with a wrong one; repeats after 2 s."""
    binary = require_tool("prometheus-alertmanager")
    root.mkdir(parents=True, exist_ok=True)
    (root / "token").write_text(token)
    (root / "wrong").write_text("not-the-token")
    config = root / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hxb-lab\n  group_by: [alertname]\n  group_wait: 100ms\n"
        "  group_interval: 1s\n  repeat_interval: 2s\n  routes:\n"
        "    - receiver: stranger\n      matchers: ['team=\"strangers\"']\n"
        "receivers:\n"
        f"  - name: hxb-lab\n    webhook_configs:\n      - url: {url}\n        send_resolved: true\n"
        f"        http_config:\n          authorization:\n            credentials_file: {root / 'token'}\n"
        f"  - name: stranger\n    webhook_configs:\n      - url: {url}\n"
        f"        http_config:\n          authorization:\n            credentials_file: {root / 'wrong'}\n"
    )  # fmt: skip
    port = free_port()
    am = f"http://127.0.0.1:{port}"
    command = [
        binary, f"--config.file={config}", f"--storage.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    with start(command, root / "alertmanager.log", f"{am}/-/ready"):
        yield am


def fire(alertmanager: str, labels: dict[str, str], *, resolved: bool = False) -> None:
    """Post one alert to Alertmanager's API (ended a minute ago when `resolved`)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    ends = now - timedelta(seconds=1) if resolved else now + timedelta(hours=1)
    body = [{"labels": labels, "annotations": {"summary": "test"},
             "startsAt": (now - timedelta(minutes=5)).isoformat(), "endsAt": ends.isoformat()}]  # fmt: skip
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
