"""Binder and the runbook image use the same dependencies as the package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(requirements: list[str]) -> dict[str, str]:
    """Requirement name (normalised) -> the full requirement line."""
    found = {}
    for line in requirements:
        line = line.strip()
        if line and not line.startswith("#"):
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]
            found[re.sub(r"[-_.]+", "-", name).lower()] = line
    return found


def test_binder_requirements_equal_the_package_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    binder = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert _names(binder) == _names(project["dependencies"])


def test_post_build_installs_the_project_and_seeds_the_demo() -> None:
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    text = post_build.read_text()
    assert "pip install --no-deps ." in text
    assert "hxb-lab demo" in text


def test_runtime_pins_the_python_that_requires_python_asks_for() -> None:
    # repo2docker reads `python-X.Y`; without it, it picks its own default Python.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = re.fullmatch(r">=\s*(\d+\.\d+)", requires)
    assert lowest, f"requires-python {requires!r}: expected a lower bound, >=X.Y"
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime == f"python-{lowest.group(1)}"
