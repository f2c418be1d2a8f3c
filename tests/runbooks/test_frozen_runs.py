"""Frozen runs on the demo: a run keeps the frames it read, and after the demo's data is
deleted its reads are answered again and its report re-renders the same.

The runs are shared by the tests of the module (a run on the demo costs seconds).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.frozen import NotRecordedError
from hxb_lab.runbooks import Run

RUNBOOK = "gpu-capacity-report"


@dataclass
class CapacityRuns:
    home: Path
    first: Run
    first_report: str
    gpus: pd.DataFrame  # wb.cluster.gpus() as the first run read it, live


@pytest.fixture(scope="module")
def capacity_runs(
    demo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CapacityRuns]:
    home = tmp_path_factory.mktemp("frozen-runs") / "home"
    shutil.copytree(demo_home, home, ignore=shutil.ignore_patterns("runs", "replays"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HXB_LAB_HOME", str(home))
        env.setenv("XDG_CONFIG_HOME", str(home.parent / "config"))
        env.delenv("HXB_LAB_CONFIG", raising=False)
        env.delenv("HXB_LAB_PROFILE", raising=False)
        first = hx.runbooks.get(RUNBOOK).run({}, profile="demo", progress_bar=False)
        assert first.ok, first.summary()
        assert first.report is not None
        gpus = hx.connect("demo").cluster.gpus()
        yield CapacityRuns(home, first, first.report.read_text(), gpus)


def _body(report: str) -> str:
    """A report without its header (run id, times, parameters) and its title (the run id)."""
    report = re.sub(r'<header class="hxb-header">.*?</header>', "", report, flags=re.S)
    return re.sub(r"<title>.*?</title>", "", report, flags=re.S)


def test_a_run_keeps_every_frame_it_read(capacity_runs: CapacityRuns) -> None:
    assert capacity_runs.first.directory is not None
    kept = capacity_runs.first.directory / "frozen"
    manifest = json.loads((kept / "frames.json").read_text())
    calls = [c["text"] for c in manifest["calls"]]
    assert calls[:2] == ["wb.cluster.gpus()", "wb.cluster.gpu_allocation(by='workload')"]
    assert "wb.cluster.events(since='1d', warnings_only=True)" in calls
    utilization = next(c for c in manifest["calls"] if c["call"] == "metrics.gpu_utilization")
    now = pd.Timestamp(manifest["now"])
    assert utilization["range"] == {  # the runbook's default window: the hour before now
        "start": {"time": (now - pd.Timedelta("1h")).isoformat()},
        "end": {"time": now.isoformat()},
    }
    assert manifest["profile"] == "demo" and manifest["run_id"] == capacity_runs.first.id
    assert all((kept / c["file"]).stat().st_size == c["bytes"] for c in manifest["calls"])


def test_after_the_data_is_gone_the_run_replays_and_re_renders(
    capacity_runs: CapacityRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, first = capacity_runs.home, capacity_runs.first
    monkeypatch.setenv("HXB_LAB_HOME", str(home))
    for live in ("telemetry", "cluster"):  # the demo's data; its MLflow and artifacts stay
        shutil.rmtree(home / "demo" / live)
    assert first.directory is not None
    shutil.rmtree(first.directory)  # the frames now come from the artifact store

    wb = hx.runbooks.replay(first.id, profile="demo")
    pd.testing.assert_frame_equal(wb.cluster.gpus(), capacity_runs.gpus)
    with pytest.raises(
        NotRecordedError, match=rf"wb.cluster.pods\(\) was not recorded in run {first.id}"
    ):
        wb.cluster.pods()

    again = hx.runbooks.rerun(first.id, profile="demo")
    assert again.ok and again.executor == "replay", again.summary()
    assert again.report is not None
    assert _body(again.report.read_text()) == _body(capacity_runs.first_report)
    assert not (home / "demo" / "telemetry").exists()  # nothing was seeded again
