"""The house plan holds: imports point down, no circles, the demo apart (docs/architecture.md).

The contracts live in pyproject.toml ([tool.importlinter]); `make check` runs them too.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = (
    "Layers point down",
    "No circles between the modules of a package",
    "The product's reads never import the demo",
)
#: Imports of the package's own modules placed inside functions (not type-only ones). Most
#: defer a module that loads a heavy library (plotly, papermill, tornado) until it is
#: needed; the number may go down, never up.
IN_FUNCTION_CEILING = 87


def _lint(package_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(package_root / "pyproject.toml"), "--no-cache"],
        cwd=package_root,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(package_root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_contract_of_the_house_plan_is_kept() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("hxb_lab/clients/s3.py", "import hxb_lab.widgets", "Layers point down"),
        ("hxb_lab/cluster/nodes.py", "import hxb_lab.demo.scenario", "Layers point down"),
        (
            "hxb_lab/cluster/_quantities.py",
            "import hxb_lab.cluster.nodes",
            "No circles between the modules of a package",
        ),
    ],
)
def test_a_new_upward_import_or_circle_breaks_the_check(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    shutil.copytree(
        ROOT / "hxb_lab",
        tmp_path / "hxb_lab",
        ignore=shutil.ignore_patterns("labextension", "__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # an import the plan forbids\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert f"{broken} BROKEN" in done.stdout


def test_the_demo_seeders_all_live_in_the_demo_package() -> None:
    from hxb_lab import demo

    modules = {seeder.__module__ for _, seeder in demo.seeders()}
    assert modules and all(m.startswith("hxb_lab.demo.") for m in modules), modules


def in_function_imports() -> list[str]:
    """`file:line` of each import of an `hxb_lab` module inside a function body."""
    found: list[str] = []
    for path in sorted((ROOT / "hxb_lab").rglob("*.py")):
        if "labextension" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if any(n == "hxb_lab" or n.startswith("hxb_lab.") for n in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return sorted(set(found))


def test_in_function_imports_do_not_grow() -> None:
    found = in_function_imports()
    assert len(found) <= IN_FUNCTION_CEILING, (
        f"{len(found)} in-function imports of hxb_lab modules (ceiling {IN_FUNCTION_CEILING}): "
        "import at the top, or remove the cycle that made the import move"
    )
