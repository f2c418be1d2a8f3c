"""`wb.alerts.active()` from a real Alertmanager, and the demo's own alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from hxb_lab.clients.alertmanager import Alertmanager
from hxb_lab.config import AlertmanagerConfig, GrafanaConfig, Profile
from hxb_lab.errors import BackendUnavailableError, ConfigError
from hxb_lab.workbench import Workbench
from tests.telemetry.conftest import Generated, free_port, workbench

COLUMNS = [
    "alertname", "severity", "state", "starts_at", "labels", "annotations", "runbook", "link",
]  # fmt: skip
GENERATOR = (
    "http://prometheus.example:9090/graph?g0.expr=histogram_quantile%280.95%2C+sum+by+%28le%29"
    "%28rate%28nv_inference_request_duration_us_bucket%5B5m%5D%29%29%29+%3E+2e5&g0.tab=1"
)


def test_the_demo_shows_the_alerts_of_its_incidents(wb: Workbench, generated: Generated) -> None:
    frame = wb.alerts.active()
    assert list(frame.columns) == COLUMNS
    assert str(frame.starts_at.dtype) == "datetime64[ns, UTC]"
    assert set(frame.alertname) == {
        "GPUTemperatureHigh",
        "InferenceLatencyHigh",
        "InferenceServiceNotReady",
    }
    assert set(frame.state) == {"active"}
    hot = frame.set_index("alertname").loc["GPUTemperatureHigh"]
    assert hot.labels["Hostname"] == "gpu-h100-0" and hot.labels["gpu"] == "1"
    assert hot.runbook == "node-drain-readiness" and hot.severity == "critical"
    assert hot.starts_at == pd.Timestamp(generated.at(85))
    assert list(frame.starts_at) == sorted(frame.starts_at, reverse=True)


def test_a_profile_without_alertmanager_says_what_to_add() -> None:
    with pytest.raises(
        ConfigError, match=r"profile 'bare', key 'alertmanager'.*alertmanager = \{ url"
    ):
        Workbench(Profile(name="bare")).alerts.active()


@pytest.fixture
def posted(alertmanager: str) -> Iterator[Alertmanager]:
    client = Alertmanager(alertmanager)
    now = datetime.now(UTC)
    client.post(
        [
            {
                "labels": {"alertname": "GPUTemperatureHigh", "severity": "critical",
                           "Hostname": "gpu-h100-0", "gpu": "1", "runbook": "gpu-health"},
                "annotations": {"summary": "GPU 1 is at 88 C"},
                "startsAt": (now - timedelta(minutes=30)).isoformat(),
            },
            {
                "labels": {"alertname": "InferenceLatencyHigh", "severity": "warning", "model": "llm-chat"},
                "annotations": {"runbook_url": "https://runbooks.example/inference-latency"},
                "startsAt": (now - timedelta(minutes=10)).isoformat(),
                "generatorURL": GENERATOR,
            },
            {
                "labels": {"alertname": "Resolved", "severity": "info"},
                "startsAt": (now - timedelta(hours=2)).isoformat(),
                "endsAt": (now - timedelta(hours=1)).isoformat(),
            },
        ]
    )  # fmt: skip
    yield client
    client.close()


@pytest.mark.alertmanager
def test_active_alerts_from_alertmanager(posted: Alertmanager, alertmanager: str) -> None:
    wb = Workbench(Profile(name="am", alertmanager=AlertmanagerConfig(url=alertmanager)))
    frame = wb.alerts.active()
    assert list(frame.columns) == COLUMNS
    assert list(frame.alertname) == ["InferenceLatencyHigh", "GPUTemperatureHigh"]  # newest first
    assert set(frame.state) == {"active"}
    assert list(frame.runbook) == ["https://runbooks.example/inference-latency", "gpu-health"]
    gpu = frame.iloc[1]
    assert gpu.labels["Hostname"] == "gpu-h100-0" and gpu.annotations == {
        "summary": "GPU 1 is at 88 C"
    }
    assert gpu.starts_at < frame.starts_at.iloc[0] and gpu.severity == "critical"
    assert list(frame.link) == ["", ""]  # no grafana section
    wb.close()


@pytest.mark.alertmanager
def test_an_alert_links_to_its_expression_in_grafana_explore(
    posted: Alertmanager, alertmanager: str
) -> None:
    grafana = GrafanaConfig(url="https://grafana.example", datasources=(("prometheus", "p1"),))
    profile = Profile(name="am", alertmanager=AlertmanagerConfig(url=alertmanager), grafana=grafana)
    with Workbench(profile) as wb:
        frame = wb.alerts.active()
    latency, gpu = frame.link
    assert gpu == ""  # its alert names no generator
    assert latency.startswith("https://grafana.example/explore?")
    (pane,) = json.loads(parse_qs(urlsplit(latency).query)["panes"][0]).values()
    assert pane["datasource"] == "p1"
    assert pane["queries"][0]["expr"] == (
        "histogram_quantile(0.95, sum by (le)(rate(nv_inference_request_duration_us_bucket[5m])))"
        " > 2e5"
    )
    started = int(frame.starts_at.iloc[0].value // 1_000_000)
    assert int(pane["range"]["from"]) == started - 3_600_000 < int(pane["range"]["to"])


def test_an_unreachable_alertmanager_is_named(generated: Generated) -> None:
    port = free_port()
    wb = workbench(
        generated.directory,
        alertmanager=AlertmanagerConfig(url=f"http://127.0.0.1:{port}/?token=abc12345"),
    )
    with pytest.raises(
        BackendUnavailableError, match=f"Alertmanager at http://127.0.0.1:{port}/\\?token=\\*\\*\\*"
    ) as error:
        wb.alerts.active()
    assert "abc12345" not in str(error.value)
