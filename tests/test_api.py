"""The public surface: `__all__`, lazy heavy imports, the workbench and its facades."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hxb_lab as hx
from hxb_lab import errors
from hxb_lab.workbench import FACADES

HEAVY = ("pandas", "numpy", "mlflow", "papermill", "kubernetes", "plotly", "chdb", "ipywidgets")


def test_all_is_exactly_the_public_api() -> None:
    public = {n for n in vars(hx) if not n.startswith("_")} - {"annotations"}
    # Submodules appear as attributes once imported; they are reached by their own path.
    modules = {n for n in public if type(getattr(hx, n)).__name__ == "module"}
    assert set(hx.__all__) == (public - modules) | {"__version__", "runbooks"}
    for name in hx.__all__:
        assert getattr(hx, name) is not None


def test_import_and_help_load_no_heavy_library() -> None:
    code = (
        "import sys, hxb_lab, hxb_lab.cli; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_derives_from_hxb_lab_error() -> None:
    classes = [getattr(errors, n) for n in errors.__all__]
    assert all(issubclass(c, errors.HxbLabError) for c in classes)
    forbidden = errors.ForbiddenError(user="ana", verb="list", resource="pods", namespace="ml")
    assert str(forbidden).startswith("user 'ana' may not list pods in namespace 'ml'")
    assert isinstance(
        errors.ClusterUnavailableError("down", server="https://k"), errors.BackendUnavailableError
    )
    problems = errors.ParameterError(["a: missing", "b: not a number"])
    assert "2 invalid parameters" in str(problems) and "b: not a number" in str(problems)


def test_connect_gives_a_workbench_with_every_facade(demo_env: Path) -> None:
    wb = hx.connect()
    assert "profile='demo'" in repr(wb)
    for name in FACADES:
        facade = getattr(wb, name)
        assert facade is getattr(wb, name), "facades are created once"
    assert set(FACADES) <= set(dir(wb))
    with pytest.raises(AttributeError, match="no attribute 'clusters'"):
        _ = wb.clusters
    wb.close()


def test_repr_never_shows_a_url_password(profiles_file: Path) -> None:
    profiles_file.write_text(
        '[profiles.p]\nprometheus = { url = "https://prom.example/?token=abcdef123" }\n'
    )
    wb = hx.connect("p")
    assert "abcdef123" not in repr(wb)
    assert "prometheus=https://prom.example/?token=***" in repr(wb)


@pytest.mark.parametrize(
    "name",
    ["cluster", "telemetry", "inference", "models", "widgets", "runbooks", "times", "frames"],
)
def test_each_package_exports_exactly_what_it_defines_publicly(name: str) -> None:
    import importlib
    import inspect

    module = importlib.import_module(f"hxb_lab.{name}")
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__.startswith(module.__name__)
    }
    assert defined <= set(module.__all__), (
        f"public but not in __all__: {defined - set(module.__all__)}"
    )
