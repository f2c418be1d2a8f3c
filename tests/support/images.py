"""The images of the test node, built on this machine and cached, never pulled.

- the base root filesystem (Debian bookworm minbase with Python 3, by
  ``tools/build-base-rootfs.sh``);
- the runbook image, built by `hxb_lab.cli._image.build_image` (what ``hxb-lab runbook image
  build`` runs) from the wheel of this checkout, cached by the wheel's hash so that a warm
  session does not build it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hxb_lab.cli._image import build_image, build_wheel, default_tag

__all__ = ["CACHE", "RunbookImage", "base_rootfs", "runbook_image"]

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path.home() / ".cache" / "hxb-lab" / "node"
BASE_SCRIPT = ROOT / "tools" / "build-base-rootfs.sh"


class ImageBuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunbookImage:
    tag: str
    archive: Path
    wheel_sha256: str
    built: bool  # False when it came from the cache
    seconds: float


def base_rootfs() -> Path:
    """The cached base root filesystem tar (built on first use: ~2 minutes)."""
    done = subprocess.run(["bash", str(BASE_SCRIPT)], capture_output=True, text=True, timeout=1800)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ImageBuildError(f"{BASE_SCRIPT.name} failed: {done.stderr.strip()[-1500:]}")
    return Path(lines[-1])


def runbook_image(tag: str | None = None) -> RunbookImage:
    """The runbook image of this checkout as an OCI archive (cached by the wheel's hash)."""
    t0 = time.monotonic()
    tag = tag or default_tag()
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hxb-wheel-") as tmp:
        wheel = build_wheel(ROOT, Path(tmp))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        key = hashlib.sha256(f"{digest} {tag}".encode()).hexdigest()[:16]
        archive = CACHE / f"runbook-image-{key}.tar"
        with (CACHE / ".image.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if archive.exists():
                return RunbookImage(tag, archive, digest, False, time.monotonic() - t0)
            for old in CACHE.glob("runbook-image-*.tar"):
                old.unlink(missing_ok=True)  # one image at a time: they are ~1.5 GB each
            build_image(base_rootfs(), wheel, archive, tag, cache=CACHE / "layers")
    return RunbookImage(tag, archive, digest, True, time.monotonic() - t0)
