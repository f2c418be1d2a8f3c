"""``hxb-lab cluster ...``: Kubernetes clusters, snapshots for offline analysis."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from hxb_lab.cli._tables import print_table
from hxb_lab.config import load_profile
from hxb_lab.workbench import Workbench

__all__ = ["cluster_app"]

cluster_app = typer.Typer(
    help="Kubernetes clusters: snapshots for offline analysis.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


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
    print_table(f"Snapshot in {directory}", ["file", "objects"], rows)
