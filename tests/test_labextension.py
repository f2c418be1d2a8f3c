"""The JupyterLab extension: its version is the package's, and once installed Jupyter sees it.

The install checks need ``make install`` (labextension develop + server extension enable)
or the wheel; without it they skip, except with CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hxb_lab
from hxb_lab._version import __version__

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extensions" / "hxb-lab"
JUPYTER = Path(sys.executable).parent / "jupyter"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
INSTALL_HINT = (
    "run `make install` (jupyter labextension develop --overwrite . and "
    "jupyter server extension enable --sys-prefix hxb_lab) or install the wheel"
)


def _package_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXTENSION / "package.json").read_text())
    return data


def test_package_json_version_is_the_python_version() -> None:
    assert _package_json()["version"] == __version__ == hxb_lab.__version__


def test_package_json_points_at_the_python_package() -> None:
    package = _package_json()
    lab = package["jupyterlab"]
    (paths,) = hxb_lab._jupyter_labextension_paths()
    assert paths["dest"] == package["name"] == "hxb-lab"
    assert (EXTENSION / lab["outputDir"]).resolve() == ROOT / "hxb_lab" / paths["src"]
    assert lab["discovery"]["server"]["base"]["name"] == "hxb_lab"
    install = json.loads((EXTENSION / "install.json").read_text())
    assert install["packageName"] == "hxb-lab"


def test_built_extension_is_not_stale() -> None:
    built = ROOT / "hxb_lab" / "labextension" / "package.json"
    if not built.exists():
        pytest.skip("the extension is not built here (jlpm build:prod)")
    assert json.loads(built.read_text())["version"] == __version__, (
        f"{built} is from another version: rebuild with `jlpm build:prod` in {EXTENSION}"
    )


def _jupyter(*args: str) -> str:
    if not JUPYTER.exists():
        _not_installed(f"{JUPYTER} does not exist")
    result = subprocess.run(
        [str(JUPYTER), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"jupyter {' '.join(args)} failed:\n{result.stderr}"
    return ANSI.sub("", result.stdout + result.stderr)


def _not_installed(what: str) -> None:
    message = f"{what}: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def test_labextension_is_installed_enabled_and_ok() -> None:
    output = _jupyter("labextension", "list")

    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("hxb-lab ")]
    if not lines:
        _not_installed(f"`jupyter labextension list` does not list hxb-lab:\n{output}")
    assert any(
        re.match(rf"hxb-lab v{re.escape(__version__)} enabled\s+OK\b", line) for line in lines
    ), output


def test_server_extension_is_enabled_and_ok() -> None:
    output = _jupyter("server", "extension", "list")

    if not re.search(r"^\s*hxb_lab\b", output, re.MULTILINE):
        _not_installed(f"`jupyter server extension list` does not list hxb_lab:\n{output}")
    assert re.search(r"^\s*hxb_lab enabled\s*$", output, re.MULTILINE), output
    assert re.search(rf"^\s*hxb_lab {re.escape(__version__)} OK\s*$", output, re.MULTILINE), output
