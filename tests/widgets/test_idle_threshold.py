"""One idle line for GPUs: the gpus view, notebook 02 and the gpu-capacity-report runbook
call the same GPUs idle (they used to say 10 % in the view and 25 % elsewhere)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hxb_lab.cluster import IDLE_BELOW_PCT
from hxb_lab.runbooks._catalog import load

ROOT = Path(__file__).resolve().parents[2]


def _notebook_value(path: Path, name: str) -> object:
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.parse("".join(cell["source"])).body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
                name
            ]:
                return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} assigns no {name}")


def test_the_view_the_notebook_and_the_runbook_share_one_idle_line() -> None:
    runbook = load(ROOT / "runbooks" / "gpu-capacity-report.ipynb")
    assert runbook.parameter("idle_below").default == IDLE_BELOW_PCT
    notebook = ROOT / "notebooks" / "02-gpu-fleet.ipynb"
    assert _notebook_value(notebook, "IDLE_BELOW") == IDLE_BELOW_PCT
    assert IDLE_BELOW_PCT == 25
