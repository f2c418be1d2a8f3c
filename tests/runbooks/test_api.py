"""The public surface of `hx.runbooks`: `__all__` is exactly what the module offers."""

from __future__ import annotations

import subprocess
import sys

import hxb_lab.runbooks as runbooks


def test_all_is_exactly_the_public_api() -> None:
    public = {n for n in vars(runbooks) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(runbooks, n)).__name__ == "module"}
    assert set(runbooks.__all__) == public - modules
    assert runbooks.Schedule.__name__ == "Schedule"  # loaded on first use
    assert runbooks.Submission.__name__ == "Submission"


def test_importing_runbooks_loads_no_heavy_library() -> None:
    heavy = ("pandas", "mlflow", "papermill", "nbconvert", "nbformat", "kubernetes", "plotly",
             "ipywidgets", "boto3", "httpx")  # fmt: skip
    code = (
        "import sys, hxb_lab.runbooks as r; r.get('platform-smoke').schema; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
