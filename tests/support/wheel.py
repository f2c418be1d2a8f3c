"""Build HXB Lab's wheel from a clean copy of the checkout, as a user or an image build would.

The copy holds the files git tracks (as they are in the working tree) plus the prebuilt
JupyterLab extension (``hxb_lab/labextension``, built by ``make test-extension``), so the
wheel carries nothing that only happens to lie around in a developer's checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABEXTENSION = ROOT / "hxb_lab" / "labextension"


def clean_copy(dest: Path) -> Path:
    """Copy the tracked files of the checkout (symlinks kept as links) into `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, target = ROOT / name, dest / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet committed
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    shutil.copytree(LABEXTENSION, dest / "hxb_lab" / "labextension")
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """`pip wheel` of `source` with the build tools of this environment; the wheel's path."""
    out.mkdir(parents=True, exist_ok=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, f"pip wheel {source} failed:\n{built.stderr[-3000:]}"
    (wheel,) = out.glob("hxb_lab-*.whl")
    return wheel
