"""The demo platform the notebook library is executed on: small, seed 7, and a fixed clock.

`hxb_lab.demo.seed()` takes the wall clock as the demo's "now", so two seedings differ in
every timestamp. The library's notebooks are committed with their outputs and nbval
compares them, so their demo must be the same on every machine: the same seeders with the
same seed, size and "now". `seed_library_demo()` runs the registered seeders with that
context and writes the manifest that `hx.connect()` and `Workbench.now()` read.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

#: The instant the stored outputs were computed at (the demo's "now").
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
SIZE = "small"
SEED = 7


def seed_library_demo(home: Path) -> Path:
    """Seed the library's demo under `home` (an HXB_LAB_HOME); returns `home`."""
    from hxb_lab import demo
    from hxb_lab._version import __version__

    previous = os.environ.get("HXB_LAB_HOME")
    os.environ["HXB_LAB_HOME"] = str(home)
    try:
        target = demo.demo_dir()
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        ctx = demo.SeedContext(home=target, size=SIZE, seed=SEED, now=NOW)
        parts = [
            {"name": name, "summary": seeder(ctx), "seconds": 0.0}
            for name, seeder in demo.seeders()
        ]
        manifest = {
            "version": __version__,
            "size": SIZE,
            "seed": SEED,
            "created": NOW.isoformat(timespec="seconds"),
            "now": NOW.isoformat(),
            "parts": parts,
        }
        (target / demo.MANIFEST).write_text(json.dumps(manifest, indent=2))
    finally:
        if previous is None:
            os.environ.pop("HXB_LAB_HOME", None)
        else:
            os.environ["HXB_LAB_HOME"] = previous
    return home


def library_environment(home: Path, config_home: Path) -> dict[str, str]:
    """The environment a notebook of the library runs in: the demo under `home`, no user
    profiles file, no profile override."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HXB_LAB_CONFIG", "HXB_LAB_PROFILE") and not k.startswith("HXB_LAB_SECRET_")
    }
    env["HXB_LAB_HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(config_home)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PLOTLY_RENDERER", None)
    return env
