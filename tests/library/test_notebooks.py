"""Every notebook and runbook of the library runs top to bottom on the demo, and shows what
its stored outputs show (nbval, with the sanitizers of sanitize.cfg and the figure summaries
of nbval_figures.py). After a deliberate change: `python -m tests.library.regenerate`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.library.conftest import ROOT, LibraryJobs
from tests.library.regenerate import library_notebooks

NOTEBOOKS = library_notebooks()


def _cases(report: Path, notebook: Path) -> list[ET.Element]:
    relative = notebook.relative_to(ROOT).as_posix()
    tree = ET.parse(report)
    return [c for c in tree.iter("testcase") if c.get("file") == relative]


def test_the_library_is_complete() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in NOTEBOOKS}
    assert {
        "notebooks/01-platform-overview.ipynb",
        "notebooks/02-gpu-fleet.ipynb",
        "notebooks/03-inference-latency-investigation.ipynb",
        "notebooks/04-trace-deep-dive.ipynb",
        "notebooks/05-capacity-planning.ipynb",
        "notebooks/06-platform-health.ipynb",
        "runbooks/canary-analysis.ipynb",
        "runbooks/crashloop-triage.ipynb",
        "runbooks/gitops-drift.ipynb",
        "runbooks/gpu-capacity-report.ipynb",
        "runbooks/inference-latency-triage.ipynb",
        "runbooks/model-promotion.ipynb",
        "runbooks/node-drain-readiness.ipynb",
    } <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_stored_outputs(
    notebook: Path, library_jobs: LibraryJobs
) -> None:
    code, log = library_jobs.nbval.result()
    assert library_jobs.nbval_report.exists(), f"nbval did not run (exit {code}):\n{log[-3000:]}"
    cases = _cases(library_jobs.nbval_report, notebook)
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    assert len(cases) == len(cells), (
        f"nbval ran {len(cases)} of {len(cells)} code cells:\n{log[-3000:]}"
    )
    problems = []
    for case in cases:
        for outcome in ("failure", "error", "skipped"):
            found = case.find(outcome)
            if found is not None:
                text = re.sub(r"\x1b\[[0-9;]*m", "", found.text or found.get("message", ""))
                problems.append(f"{case.get('name')} {outcome}:\n{text[-2500:]}")
    assert not problems, (
        f"{notebook.name} differs from its stored outputs (regenerate them with "
        "`python -m tests.library.regenerate` if the change is intended):\n\n"
        + "\n\n".join(problems)
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(notebook: Path) -> None:
    """Outputs of the library's demo, without widget state, kernel timings or local paths."""
    nb = json.loads(notebook.read_text())
    assert "widgets" not in nb["metadata"] and "papermill" not in nb["metadata"]
    assert notebook.stat().st_size < 300_000, "a runbook travels in a ConfigMap: keep it small"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code if c["execution_count"]] == list(
        range(1, 1 + sum(1 for c in code if c["execution_count"]))
    ), "run top to bottom once, in order"
    text = json.dumps(nb)
    assert "/tmp/" not in text and "/home/" not in text and "/root/" not in text
    assert "Traceback" not in text and '"output_type": "error"' not in text
    assert '"name": "stderr"' not in text, "a warning on stderr in a stored output"
