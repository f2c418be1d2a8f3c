"""The `hxb-lab` command line. Errors print as one line with exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Annotated

import typer

from hxb_lab._version import __version__
from hxb_lab.errors import HxbLabError
from hxb_lab.runbooks._cli import runbook_app

app = typer.Typer(
    name="hxb-lab",
    help="HXB Lab: the operations workbench of the HXB Platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich's help renderer alone costs 0.2 s of start-up
)
profile_app = typer.Typer(
    help="List and inspect platform profiles.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(profile_app, name="profile")
cluster_app = typer.Typer(
    help="Kubernetes clusters: snapshots for offline analysis.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(cluster_app, name="cluster")
app.add_typer(runbook_app, name="runbook")


def _echo_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@app.command()
def version() -> None:
    """Print the HXB Lab version."""
    typer.echo(__version__)


@profile_app.command("list")
def profile_list() -> None:
    """List the profiles: the built-in demo and those of the profiles file."""
    from hxb_lab.config import active_profile_name, profiles

    active = active_profile_name()
    rows = [
        ["*" if name == active else "", name, p.source, p.description]
        for name, p in sorted(profiles().items())
    ]
    _echo_table("Profiles", ["active", "name", "source", "description"], rows)


@profile_app.command("show")
def profile_show(
    name: Annotated[
        str | None, typer.Argument(help="Profile name (default: the active one)")
    ] = None,
) -> None:
    """Show one profile as JSON, with secrets and URL passwords redacted."""
    from hxb_lab.config import load_profile

    typer.echo(json.dumps(load_profile(name).to_dict(), indent=2))


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="small, medium or large")] = "medium",
    reset: Annotated[bool, typer.Option(help="Delete and rebuild the demo platform")] = False,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = 7,
    lab: Annotated[bool, typer.Option(help="Start JupyterLab on notebooks/ afterwards")] = False,
) -> None:
    """Seed the embedded demo platform under $HXB_LAB_HOME/demo and print what was seeded."""
    from hxb_lab import demo as demo_mod

    results = demo_mod.seed(size, reset=reset, seed=seed, progress=lambda m: typer.echo(m))
    rows = [[r.name, r.summary, f"{r.seconds:.1f}"] for r in results]
    _echo_table(f"Demo platform ({size})", ["part", "seeded", "seconds"], rows)
    typer.echo(f"Seeded under {demo_mod.demo_dir()}. Open it with: hx.connect('demo')")
    if lab:
        _start_lab()


@cluster_app.command("snapshot")
def cluster_snapshot(
    directory: Annotated[str, typer.Argument(help="Where to write <cluster>/<kind>.json lists")],
    context: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CONTEXT",
            help="Kubeconfig context (repeatable; default: the profile's contexts)",
        ),
    ] = None,
    kubeconfig: Annotated[str | None, typer.Option(help="Kubeconfig file")] = None,
    profile: Annotated[str | None, typer.Option(help="Profile (default: the active one)")] = None,
) -> None:
    """Write every cluster's objects as `kubectl get -A -o json` lists, readable offline
    by a profile whose kube.snapshot is DIRECTORY."""
    import dataclasses

    from hxb_lab.config import load_profile
    from hxb_lab.workbench import Workbench

    chosen = load_profile(profile)
    kube = chosen.kube
    if context or kubeconfig or kube.snapshot:
        kube = dataclasses.replace(
            kube,
            snapshot=None,
            contexts=tuple(context) if context else kube.contexts,
            kubeconfig=kubeconfig or kube.kubeconfig,
        )
    with Workbench(dataclasses.replace(chosen, kube=kube)) as wb:
        written = wb.cluster.snapshot(directory)
    rows = [[name, str(count)] for name, count in written.items()]
    _echo_table(f"Snapshot in {directory}", ["file", "objects"], rows)


def _start_lab() -> None:
    from hxb_lab.config import builtin_runbooks_dir

    notebooks = builtin_runbooks_dir().parent / "notebooks"
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    env = {**os.environ, "HXB_LAB_PROFILE": os.environ.get("HXB_LAB_PROFILE", "demo")}
    cwd = str(notebooks) if notebooks.is_dir() else None
    command = [jupyter, "lab"]
    if os.geteuid() == 0:  # containers and CI machines run as root; Jupyter refuses otherwise
        command.append("--allow-root")
    raise typer.Exit(subprocess.call(command, cwd=cwd, env=env))


def main() -> None:
    """Entry point: run the CLI, printing `HxbLabError`s in one line with exit code 2."""
    try:
        app()
    except HxbLabError as exc:
        typer.echo(f"hxb-lab: error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
