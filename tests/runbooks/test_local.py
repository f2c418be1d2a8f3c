"""Local runs with papermill: results, failures, faults, timeouts, concurrency, secrets.

Each test runs a real kernel (the venv's ``python3``) and records to the real MLflow
server of the session (profile ``local``).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import nbformat
import pytest

import hxb_lab as hx
from hxb_lab.errors import ParameterError
from hxb_lab.runbooks import Run
from tests.runbooks.conftest import fixture

CODE = "\"; import os; os.system('id') #"


def _printed(path: Path) -> str:
    """What the notebook's cells printed (stdout and stderr streams)."""
    nb = nbformat.read(str(path), as_version=4)
    return "".join(
        o.get("text", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "stream"
    )


def _outputs(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(json.dumps(output))
    return "\n".join(texts)


def test_a_run_gets_its_parameters_profile_and_own_directory(local_profile: str) -> None:
    rb = hx.runbooks.get("succeeds", local_profile)
    run = rb.run(
        {"service": "checkout", "threshold_ms": 300, "hosts": ["gpu-1", "gpu-2"], "note": CODE},
        local_profile,
    )
    assert run.status == "succeeded", run.error
    assert run.ok and run.error is None
    assert run.duration is not None and run.duration.total_seconds() > 0
    assert run.parameters == {
        "service": "checkout", "window": "1h", "threshold_ms": 300.0, "mode": "report",
        "dry_run": True, "hosts": ["gpu-1", "gpu-2"], "note": CODE,
    }  # fmt: skip
    assert run.directory is not None and run.directory.name == run.id
    seen = json.loads((run.directory / "seen.json").read_text())  # written in the kernel's cwd
    assert seen["service"] == "checkout"
    assert seen["note"] == CODE  # code in a value stays a string
    assert seen["types"] == ["str", "float", "bool", "list"]
    assert seen["profile"] == "local"  # hx.connect() in the runbook opens the run's profile
    assert seen["cwd"] == str(run.directory)
    assert run.metrics == {"slow_requests": 3.0, "p95_ms": 450.0}
    assert "uid=" not in _outputs(run.output_notebook)  # os.system('id') never ran
    nb = nbformat.read(str(run.output_notebook), as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]
    assert nb.metadata["hxb_lab_run"]["status"] == "succeeded"
    saved = json.loads((run.directory / "run.json").read_text())
    assert saved["status"] == "succeeded" and saved["id"] == run.id
    assert run.report is not None and run.report.exists()
    assert run.mlflow_run_id and not run.warnings


def test_a_failing_cell_is_recorded_with_its_index_and_keeps_notebook_and_report(
    local_profile: str,
) -> None:
    run = hx.runbooks.get("fails_in_cell_3", local_profile).run({"nodes": 5}, local_profile)
    assert run.status == "failed"
    assert (run.failed_cell, run.ename, run.evalue) == (
        3,
        "ValueError",
        "disk is full on node gpu-7",
    )
    assert run.error == "ValueError: disk is full on node gpu-7 in cell 3"
    outputs = _outputs(run.output_notebook)
    assert "checking 5 nodes" in outputs and "never printed" not in outputs
    report = run.report.read_text()
    assert "disk is full on node gpu-7" in report
    assert "raise</span> <span" in report or "raise ValueError" in report  # the failing code
    assert "never printed" not in report
    assert "print</span><span" not in report  # the code of the other cells is hidden


def test_a_kernel_that_dies_fails_the_run_and_keeps_what_ran(local_profile: str) -> None:
    result = hx.runbooks.get("kernel_dies", local_profile).run({}, local_profile)
    assert result.status == "failed"
    assert result.ename == "DeadKernelError"
    assert result.failed_cell == 2
    assert "about to die" in _outputs(result.output_notebook)
    assert "DeadKernelError" in result.report.read_text()


def test_a_cell_timeout_and_a_total_timeout(local_profile: str) -> None:
    rb = hx.runbooks.get("sleeps", local_profile)
    per_cell = rb.run({"seconds": 60}, local_profile, cell_timeout=2)
    assert per_cell.status == "timed_out"
    assert per_cell.failed_cell == 1 and per_cell.ename == "CellTimeoutError"
    assert per_cell.duration.total_seconds() < 45
    assert "CellTimeoutError" in per_cell.report.read_text()
    total = rb.run({"seconds": 60}, local_profile, timeout=8)  # the kernel starts well within
    assert total.status == "timed_out"
    assert total.failed_cell == 1
    assert "sleeping 60" in _printed(total.output_notebook)
    assert "woke up" not in _printed(total.output_notebook)


def test_two_runs_of_one_runbook_at_once_overwrite_nothing(local_profile: str) -> None:
    rb = hx.runbooks.get("succeeds", local_profile)
    results: dict[str, Run] = {}

    def run(service: str) -> None:
        results[service] = rb.run({"service": service}, local_profile, progress_bar=False)

    threads = [threading.Thread(target=run, args=(s,)) for s in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in results.values()} == {"succeeded"}
    alpha, beta = results["alpha"], results["beta"]
    assert alpha.directory != beta.directory and alpha.id != beta.id
    for service, result in results.items():
        assert json.loads((result.directory / "seen.json").read_text())["service"] == service
        assert f"checked {service}" in _outputs(result.output_notebook)


def test_parameters_are_checked_before_any_kernel_starts(local_profile: str, hxb_env: Path) -> None:
    rb = hx.runbooks.get("succeeds", local_profile)
    with pytest.raises(ParameterError) as caught:
        rb.run({"threshold_ms": "fast", "mode": "delete"}, local_profile)
    assert len(caught.value.problems) == 3  # the type, the choice, and the missing service
    assert not (hxb_env / "runs").exists()


def test_a_notebook_without_annotations_runs_with_inferred_types(local_profile: str) -> None:
    rb = hx.runbooks.get("untyped_parameters", local_profile)
    run = rb.run(rb.coerce({"alpha": "0.1", "count": "5", "enabled": "true"}), local_profile)
    assert run.status == "succeeded", run.error
    assert "VALUES 0.1 5 baseline True [1, 2] {'depth': 2} None float int" in _outputs(
        run.output_notebook
    )


def test_a_papermill_notebook_runs_unchanged_with_warnings_for_what_cannot_be_typed(
    local_profile: str, tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    cell = nbformat.v4.new_code_cell(
        '%env EXAMPLE_MODE=fast\nfrom datetime import date\ncount: "int" = 3  # How many\n'
        "day: date = None  # Which day\n"
    )
    cell.metadata["tags"] = ["parameters"]
    shows = nbformat.v4.new_code_cell(
        "import os; print('GOT', count * 2, day, os.environ['EXAMPLE_MODE'])"
    )
    notebook.cells = [cell, shows]
    path = tmp_path / "plain_papermill.ipynb"
    nbformat.write(notebook, str(path))
    rb = hx.runbooks.get(str(path))
    assert [p.name for p in rb.parameters] == ["count", "day"]
    assert len(rb.warnings) == 2 and "line 1 is not Python" in rb.warnings[0]
    run = rb.run(rb.coerce({"count": "5", "day": '"2025-06-02"'}), local_profile)
    assert run.status == "succeeded", run.error
    assert "GOT 10 2025-06-02 fast" in _outputs(run.output_notebook)


def test_the_kernel_is_the_one_of_this_environment(local_profile: str, tmp_path: Path) -> None:
    notebook = json.loads(fixture("untyped_parameters").read_text())
    notebook["cells"].append(
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import sys; print('EXE', sys.executable)", "id": "exe"}
    )  # fmt: skip
    path = tmp_path / "which_python.ipynb"
    path.write_text(json.dumps(notebook))
    run = hx.runbooks.get(str(path)).run({}, local_profile)
    assert run.status == "succeeded", run.error
    found = re.search(r"EXE (\S+?)\\n", _outputs(run.output_notebook))
    assert found and Path(found.group(1)).parent == Path(sys.executable).parent


def test_a_kernel_that_cannot_start_is_a_failed_run_on_record(
    local_profile: str, tmp_path: Path
) -> None:
    rb = hx.runbooks.get("succeeds", local_profile)
    run = rb.run({"service": "cart"}, local_profile, cwd=tmp_path / "nowhere", progress_bar=False)
    assert (run.status, run.failed_cell, run.ename) == ("failed", None, "KernelStartError")
    assert run.evalue == (
        f"the kernel 'python3' did not start: [Errno 2] No such file or directory: "
        f"'{tmp_path / 'nowhere'}'"
    )
    assert run.report is not None and "KernelStartError" in run.report.read_text()
    assert run.directory is not None and not (run.directory / "lease.json").exists()
    saved = json.loads((run.directory / "run.json").read_text())
    assert saved["status"] == "failed" and saved["mlflow_run_id"] == run.mlflow_run_id
    row = hx.runbooks.find_run(run.id, local_profile)
    assert (row["status"], row["error"]) == ("failed", run.error)


def test_a_time_limit_that_ends_while_the_kernel_starts_is_a_timeout(
    local_profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel that takes longer to start than the whole run may last (a loaded machine,
    a big image): the run is timed out, not a kernel that failed to start."""
    spec = tmp_path / "kernels" / "slow-start"
    spec.mkdir(parents=True)
    starter = "import sys, time; time.sleep(30); sys.exit(1)"  # SIGINT ends it: a fault
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", starter, "{connection_file}"],
                "display_name": "slow to start",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    rb = hx.runbooks.get("succeeds", local_profile)
    run = rb.run(
        {"service": "cart"}, local_profile, timeout=2, kernel="slow-start", progress_bar=False
    )
    assert run.status == "timed_out", run
    assert (run.ename, run.evalue) == (
        "RunInterrupted",
        "the run ran out of time before its kernel started",
    )
    assert run.duration.total_seconds() < 30
    assert "ran out of time before its kernel started" in run.report.read_text()
