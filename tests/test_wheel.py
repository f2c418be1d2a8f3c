"""The wheel, installed in a fresh virtualenv, carries the runbook library and the extension.

This is the path of every install that is not a checkout: `pip install hxb-lab`, Binder's
postBuild and the runbook image. The wheel is built from a clean copy of the checkout in
which the extension directory also holds an ``install.json``, as a developed checkout can.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hxb_lab.config import builtin_runbooks_dir
from tests.conftest import require
from tests.support.wheel import LABEXTENSION, ROOT, build_wheel, clean_copy

UV = Path(sys.executable).parent / "uv"


@pytest.mark.slow
def test_a_wheel_in_a_fresh_virtualenv_lists_every_shipped_runbook(tmp_path: Path) -> None:
    require((LABEXTENSION / "static" / "style.js").is_file(), "the built JupyterLab extension")
    require(UV.is_file(), "uv (make install puts it in the virtualenv)")
    source = clean_copy(tmp_path / "src")
    (source / "hxb_lab" / "labextension" / "install.json").write_text('{"stale": true}')
    wheel = build_wheel(source, tmp_path / "dist")

    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, venv], check=True)
    installed = subprocess.run(
        [UV, "pip", "install", "--quiet", "--offline", "--python", venv / "bin" / "python", wheel],
        capture_output=True, text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HXB_LAB_CONFIG")}
    env.update(HOME=str(tmp_path), COLUMNS="200", XDG_CONFIG_HOME=str(tmp_path / "config"))
    listed = subprocess.run(
        [venv / "bin" / "hxb-lab", "runbook", "list"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    names = {line.split("│")[1].strip() for line in listed.stdout.splitlines() if "│" in line}
    shipped = {p.stem for p in builtin_runbooks_dir().glob("*.ipynb")}
    assert len(shipped) >= 7
    assert shipped <= names, f"missing from the installed wheel: {sorted(shipped - names)}"

    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert {p.stem for p in (site / "hxb_lab" / "runbooks" / "library").glob("*.ipynb")} == shipped
    share = venv / "share" / "jupyter" / "labextensions" / "hxb-lab"
    assert (share / "static" / "style.js").is_file()
    assert json.loads((share / "package.json").read_text())["name"] == "hxb-lab"
    install = json.loads((share / "install.json").read_text())
    assert install == json.loads((ROOT / "extensions" / "hxb-lab" / "install.json").read_text())
