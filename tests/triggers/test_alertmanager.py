"""The loop with Debian's Alertmanager: a firing alert starts exactly one run of its
runbook, with parameters from its labels, through ``hxb-lab serve``; repeats, resolved
alerts and a wrong token start nothing; the verdict reaches a loopback webhook."""

from __future__ import annotations

from pathlib import Path

import pytest

import hxb_lab as hx
from tests.triggers.conftest import (
    Inbox,
    Service,
    alertmanager_to,
    fire,
    post,
    run_records,
    webhook,
)

pytestmark = pytest.mark.alertmanager


def test_an_alert_starts_one_run_and_repeats_resolved_and_strangers_start_none(
    service: Service, token: str, inbox: Inbox, hxb_env: Path, tmp_path: Path
) -> None:
    labels = {"alertname": "ServiceDown", "service": "checkout", "replicas": "3"}
    with alertmanager_to(service.alerts_url, token, tmp_path / "am") as alertmanager:
        fire(alertmanager, labels)
        # Alertmanager sends the group, then repeats it every 2 s: wait for a repeat.
        service.process.wait_ready(lambda: len(service.answers()) >= 2, 60)
        started = [a for a in service.answers() if a["runs"]]
        assert len(started) == 1, service.answers()
        assert started[0]["runs"][0]["runbook"] == "checks"
        assert service.answers()[1]["deduplicated"] == 1

        # The run ends, and its verdict is posted.
        (verdict,) = inbox.wait_for(1)
        run_id = started[0]["runs"][0]["run_id"]
        assert verdict["run_id"] == run_id and verdict["status"] == "succeeded"
        assert verdict["rule"] == "service-down" and verdict["alertname"] == "ServiceDown"
        assert verdict["verdict"].startswith(f"run {run_id} of checks: succeeded")
        (record,) = run_records(hxb_env)
        assert record["id"] == run_id
        assert record["parameters"]["service"] == "checkout"
        assert record["parameters"]["replicas"] == 3  # the label's text, as the runbook's int
        # The alert that started it is recorded with the run, in MLflow.
        row = hx.runbooks.audit(since="1h").set_index("run_id").loc[run_id]
        assert row["started_by"] == "alertmanager (hxb-lab)"
        (alert,) = row["trigger"]["alerts"]
        assert alert["labels"]["service"] == "checkout" and alert["fingerprint"]
        assert row["trigger"]["rule"] == "service-down"

        # Resolved: Alertmanager says so, and nothing starts.
        answered = len(service.answers())
        fire(alertmanager, labels, resolved=True)
        service.process.wait_ready(
            lambda: any(a["resolved"] for a in service.answers()[answered:]), 60
        )

        # An Alertmanager route with the wrong token is refused.
        fire(alertmanager, {"alertname": "ServiceDown", "service": "cart", "team": "strangers"})
        service.process.wait_ready(lambda: 401 in service.statuses(), 60)

    status, answer = post(service.alerts_url, webhook({"labels": labels}), "Bearer wrong")
    assert status == 401 and answer["type"] == "Unauthorized"
    assert "credentials" in answer["message"] and token not in answer["message"]
    assert len(run_records(hxb_env)) == 1
    assert len(inbox.bodies) == 1
