"""The project's runbook `platform-smoke` on the embedded demo (MLflow in SQLite)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab.clock import demo_manifest
from hxb_lab.runbooks._report import plotly_signature

#: A profile other than `demo` reads the wall clock, and the demo's data ends at its seed
#: time: a profile made of the demo's files sees "the last hour" only for so long.
FRESH = timedelta(minutes=40)


@pytest.fixture
def fresh_demo(demo_env: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """The session's demo if it was seeded less than `FRESH` ago, else a new one."""
    seeded = datetime.fromisoformat((demo_manifest() or {})["now"])
    if datetime.now(UTC) - seeded < FRESH:
        return demo_env
    home = tmp_path_factory.mktemp("fresh-demo-home")
    monkeypatch.setenv("HXB_LAB_HOME", str(home))
    from hxb_lab import demo

    demo.seed("small")
    assert os.environ["HXB_LAB_HOME"] == str(home)
    return home


def test_platform_smoke_runs_on_the_demo_and_is_recorded_in_its_sqlite_store(
    demo_env: Path,
) -> None:
    run = hx.runbooks.get("platform-smoke").run({"depth": "full", "note": "after deploy"})
    assert run.status == "succeeded", run.error
    assert run.profile == "demo" and not run.warnings, run.warnings
    assert run.metrics == {"checks_passed": 7.0}
    nb = json.loads(run.output_notebook.read_text())
    printed = "".join(
        "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )  # fmt: skip
    assert "name='demo'" in printed and "note: after deploy" in printed
    assert "7 of 7 checks passed" in printed
    for check in ("telemetry traces", "telemetry metrics", "mlflow registry", "alertmanager"):
        assert check in printed or check in json.dumps(nb)
    html = run.report.read_text()
    assert html.count(plotly_signature()) == 1
    assert html.count('class="plotly-graph-div"') == 1
    assert "Platform smoke check" in html
    # History on the demo: the SQLite store and file artifacts under HXB_LAB_HOME/demo.
    assert (demo_env / "demo" / "mlflow" / "mlflow.db").exists()
    assert run.report_uri and run.report_uri.startswith((demo_env / "demo" / "artifacts").as_uri())
    history = hx.runbooks.runs("platform-smoke")
    row = history.set_index("run_id").loc[run.id]
    assert row["status"] == "succeeded"
    assert row["parameters"] == {"depth": "full", "fail_on_warning": False, "note": "after deploy"}
    assert row["metrics"] == {"checks_passed": 7.0}


def test_a_backend_that_does_not_answer_is_a_failed_row_saying_what_to_do(
    fresh_demo: Path, profiles_file: Path
) -> None:
    """The demo with an Alertmanager at a closed port: the run still ends, its report has
    a failed alertmanager row with what to do, and the other checks pass."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    demo = fresh_demo / "demo"
    profiles_file.write_text(
        "[profiles.silent-alerts]\n"
        f'kube = {{ snapshot = "{demo / "cluster"}" }}\n'
        f'clickhouse = {{ dsn = "parquet://{demo / "telemetry"}", database = "otel" }}\n'
        f'mlflow = {{ tracking_uri = "sqlite:///{demo / "mlflow" / "mlflow.db"}" }}\n'
        f'alertmanager = {{ url = "{closed}", timeout_s = 2 }}\n'
    )
    run = hx.runbooks.get("platform-smoke").run({"depth": "full"}, profile="silent-alerts")
    assert run.status == "succeeded", run.error
    assert run.metrics == {"checks_passed": 6.0}
    cells = json.loads(run.output_notebook.read_text())["cells"]
    table = next(
        o["data"]["text/plain"]
        for c in cells
        for o in c.get("outputs", [])
        if "text/plain" in o.get("data", {}) and "what_to_do" in "".join(o["data"]["text/plain"])
    )
    rows = [line for line in "".join(table).splitlines() if "alertmanager" in line]
    assert len(rows) == 1 and " fail " in rows[0], table
    html = run.report.read_text()
    assert closed in html
    assert "6 of 7 checks passed" in html
