"""``hxb-lab demo``: seed the embedded demo platform, and start JupyterLab on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from hxb_lab.cli._tables import print_table

__all__ = ["seed_demo"]


def seed_demo(
    size: Annotated[str, typer.Option(help="small, medium or large")] = "medium",
    reset: Annotated[bool, typer.Option(help="Delete and rebuild the demo platform")] = False,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = 7,
    lab: Annotated[bool, typer.Option(help="Start JupyterLab on notebooks/ afterwards")] = False,
) -> None:
    """Seed the embedded demo platform under $HXB_LAB_HOME/demo and print what was seeded."""
    from hxb_lab import demo as demo_mod

    results = demo_mod.seed(size, reset=reset, seed=seed, progress=lambda m: typer.echo(m))
    rows = [[r.name, r.summary, f"{r.seconds:.1f}"] for r in results]
    print_table(f"Demo platform ({size})", ["part", "seeded", "seconds"], rows)
    typer.echo(f"Seeded under {demo_mod.demo_dir()}. Open it with: hx.connect('demo')")
    if lab:
        _start_lab()


def _start_lab() -> None:
    notebooks = Path(__file__).resolve().parents[2] / "notebooks"  # in a checkout only
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    env = {**os.environ, "HXB_LAB_PROFILE": os.environ.get("HXB_LAB_PROFILE", "demo")}
    cwd = str(notebooks) if notebooks.is_dir() else None
    command = [jupyter, "lab"]
    if os.geteuid() == 0:  # containers and CI machines run as root; Jupyter refuses otherwise
        command.append("--allow-root")
    raise typer.Exit(subprocess.call(command, cwd=cwd, env=env))
