"""Frozen runs and run-to-run diffs on the demo: a run keeps the frames it read, and after
the demo's data is deleted its reads are answered again and its report re-renders the
same; a node cordoned between two runs is what their diff, and the scheduled run's report,
name.

The runs are shared by the tests of the module (a run on the demo costs seconds).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

import hxb_lab as hx
from hxb_lab.config import SecretRef, load_profile
from hxb_lab.frozen import NotRecordedError
from hxb_lab.runbooks import Run
from hxb_lab.runbooks._exec import exec_in_pod
from hxb_lab.runbooks._webhook import notify_changes

RUNBOOK = "gpu-capacity-report"
CORDONED = "h100-1"


def _cordon(home: Path, node: str) -> None:
    """`kubectl cordon` on the demo's cluster snapshot."""
    path = home / "demo" / "cluster" / "demo" / "nodes.json"
    nodes = json.loads(path.read_text())
    (item,) = [n for n in nodes["items"] if n["metadata"]["name"] == node]
    assert not item["spec"].get("unschedulable")
    item["spec"]["unschedulable"] = True
    path.write_text(json.dumps(nodes))


@dataclass
class CapacityRuns:
    home: Path
    first: Run
    first_report: str
    gpus: pd.DataFrame  # wb.cluster.gpus() as the first run read it, live
    scheduled: Run  # after CORDONED was cordoned, as a CronJob's pod runs it


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
        _cordon(home, CORDONED)
        scheduled = exec_in_pod(
            RUNBOOK, env={"HXB_LAB_PROFILE": "demo", "HXB_LAB_SCHEDULE": "rb-gpu-capacity"}
        )
        assert scheduled.ok, scheduled.summary()
        yield CapacityRuns(home, first, first.report.read_text(), gpus, scheduled)


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


def _cordoned_line(gpus: pd.DataFrame) -> str:
    row = gpus.set_index("node").loc[CORDONED]
    return (
        f"gpu_nodes: node={CORDONED} (product={row['product']}, allocatable={row['allocatable']},"
        f" requested={row['requested']}, free={row['free']}, ready=yes, unschedulable=yes):"
        " unschedulable no -> yes"
    )


def test_the_diff_names_the_cordoned_node_and_its_gpus(
    capacity_runs: CapacityRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HXB_LAB_HOME", str(capacity_runs.home))
    first, second = capacity_runs.first, capacity_runs.scheduled
    changes = hx.runbooks.diff(first.id, second.id, profile="demo")
    assert changes.changed
    free = int(capacity_runs.gpus.set_index("node").loc[CORDONED, "free"])
    before = first.metrics["gpus_free"]
    assert changes.metrics == {"gpus_free": (before, before - free)}
    (table,) = changes.tables
    assert (table.new, table.vanished) == ([], [])
    assert [r.text() for r in table.moved] == [
        _cordoned_line(capacity_runs.gpus)
        .removeprefix("gpu_nodes: ")
        .removesuffix(": unschedulable no -> yes")
    ]
    assert _cordoned_line(capacity_runs.gpus) in changes.lines()
    assert not hx.runbooks.diff(first.id, first.id, profile="demo").changed


def test_a_scheduled_report_says_what_changed_since_the_last_run(
    capacity_runs: CapacityRuns,
) -> None:
    first, second = capacity_runs.first, capacity_runs.scheduled
    assert second.report is not None
    header = re.search(r'<header class="hxb-header">.*?</header>', second.report.read_text(), re.S)
    assert header is not None
    assert f"<b>Since run {first.id}</b>" in header.group(0)
    assert _cordoned_line(capacity_runs.gpus).replace("->", "-&gt;") in header.group(0)
    assert "Since run" not in capacity_runs.first_report  # not a scheduled run


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_hears_only_of_runs_that_changed(
    capacity_runs: CapacityRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HXB_LAB_HOME", str(capacity_runs.home))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HXB_TEST_HOOK", f"http://127.0.0.1:{server.server_port}/hook")
        demo = load_profile("demo")
        profile = dataclasses.replace(
            demo, alerts=dataclasses.replace(demo.alerts, notify_url=SecretRef(env="HXB_TEST_HOOK"))
        )
        first, second = capacity_runs.first, capacity_runs.scheduled
        same = hx.runbooks.diff(second.id, second.id, profile="demo")
        assert not notify_changes(second, same, profile)
        changes = hx.runbooks.diff(first.id, second.id, profile="demo")
        assert notify_changes(second, changes, profile)
    finally:
        server.shutdown()
        server.server_close()
    (body,) = _Hook.received
    assert body["since"] == first.id and body["run_id"] == second.id
    assert _cordoned_line(capacity_runs.gpus) in body["changes"]
