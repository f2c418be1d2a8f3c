"""The command line of the loop: ``hxb-lab alerts replay`` drives a demo alert through the
receiver to a finished run without a cluster; ``hxb-lab serve --manifests`` prints what
deploys the receiver, with its token a Secret's, never a value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.triggers.conftest import TOKEN_ENV

CLI = [sys.executable, "-m", "hxb_lab.cli"]


@pytest.mark.slow
def test_replay_drives_a_demo_alert_to_a_finished_run(demo_env: Path) -> None:
    done = subprocess.run(
        [*CLI, "alerts", "replay", "InferenceServiceNotReady", "--profile", "demo"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer, verdict, report = done.stdout.strip().splitlines()[-3:]
    (started,) = json.loads(answer)["runs"]
    assert (started["runbook"], started["rule"]) == ("crashloop-triage", "runbook label")
    assert verdict.startswith(f"run {started['run_id']} of crashloop-triage: succeeded")
    assert Path(report.removeprefix("report: ")).is_file()


def test_replay_names_the_firing_alerts_when_asked_for_another(demo_env: Path) -> None:
    done = subprocess.run([*CLI, "alerts", "replay", "NoSuchAlert", "--profile", "demo"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2
    assert "no firing alert named 'NoSuchAlert' in profile 'demo'" in done.stderr
    assert "InferenceLatencyHigh" in done.stderr and "Traceback" not in done.stderr


def test_serve_prints_the_manifests_that_deploy_it(
    profiles_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.triggers.conftest import profile_text

    monkeypatch.setenv(TOKEN_ENV, "do-not-print-me")
    profiles_file.write_text(profile_text())
    done = subprocess.run([*CLI, "serve", "--manifests"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = [d["kind"] for d in docs]
    assert kinds == ["ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service"]
    assert "do-not-print-me" not in done.stdout
    deployment = docs[4]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["hxb-lab", "serve"]
    token = next(e for e in container["env"] if e["name"] == "HXB_LAB_ALERTS_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hxb-lab-alerts", "key": "token"}
    profile = docs[3]["data"]["profiles.toml"]
    assert 'runbook = "checks"' in profile and 'run_on = "kubernetes"' in profile
    assert "url: http://hxb-lab-alerts.hxb-runbooks.svc/hxb-lab/api/alerts" in done.stdout
