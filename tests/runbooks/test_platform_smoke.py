"""The project's runbook `platform-smoke` on the embedded demo (MLflow in SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import hxb_lab as hx
from hxb_lab.runbooks._report import plotly_signature


def test_platform_smoke_runs_on_the_demo_and_is_recorded_in_its_sqlite_store(
    demo_env: Path,
) -> None:
    run = hx.runbooks.get("platform-smoke").run({"depth": "full", "note": "after deploy"})
    assert run.status == "succeeded", run.error
    assert run.profile == "demo" and not run.warnings, run.warnings
    assert run.metrics == {"checks_passed": 3.0}
    nb = json.loads(run.output_notebook.read_text())
    printed = "".join(
        "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )  # fmt: skip
    assert "name='demo'" in printed and "note: after deploy" in printed
    assert "3 of 3 checks passed" in printed
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
    assert row["metrics"] == {"checks_passed": 3.0}
