"""The GitOps and policy views and figures on the demo: what a user sees, escaped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab import viz
from hxb_lab.workbench import Workbench


@pytest.fixture
def demo(demo_env: Path) -> Workbench:
    return hx.connect()


def test_the_gitops_view_shows_sync_health_and_the_pipeline_runs(demo: Workbench) -> None:
    view = demo.view.gitops()
    assert view.error_message == ""
    cells = view.status_pane.live.data[0]
    by_app = dict(zip(cells.y, cells.text, strict=True))
    assert by_app["assistant"] == ["OutOfSync", "Healthy"]
    assert by_app["vision"] == ["Synced", "Degraded"]
    assert "[gpu-workloads-need-owner]" in str(cells.customdata[list(cells.y).index("vision")])
    assert {t.name for t in view.timeline.live.data} == {"Succeeded", "Failed", "Running"}
    assert list(view.runs.frame["status"]).count("Failed") == 1
    assert view.figure() is view.status_pane.figure


def test_the_policy_view_shows_violations_and_the_falco_alerts_of_the_range(
    demo: Workbench,
) -> None:
    view = demo.view.policy(last="1h")
    assert view.error_message == ""
    bars = view.violations_pane.live.data
    assert {b.name for b in bars} == {"assistant", "risk", "search", "vision"}
    assert len(view.alerts.frame) == 3
    markers = {t.name: list(t.y) for t in view.alerts_pane.live.data}
    assert markers["Critical"] == ["Drop and execute new binary in container"]


def test_figures_escape_cluster_strings_and_say_when_empty() -> None:
    apps = pd.DataFrame(
        {
            "name": ["<img src=x onerror=alert(1)>"],
            "sync_status": ["OutOfSync"],
            "health_status": ["Healthy"],
            "last_sync_error": ["<b>boom</b>"],
        }
    )
    fig = viz.application_status(apps)
    assert fig.data[0].y == ("&lt;img src=x onerror=alert(1)&gt;",)
    assert "&lt;b&gt;boom&lt;/b&gt;" in fig.data[0].customdata[0][0]
    empty = viz.falco_timeline(
        pd.DataFrame(columns=["time", "priority", "rule", "namespace", "pod", "command"])
    )
    assert empty.layout.annotations[0].text == "no Falco alerts in this range"
    with pytest.raises(hx.errors.ParameterError, match="missing column 'constraint'"):
        viz.violations_by_constraint(pd.DataFrame({"x": [1]}))
