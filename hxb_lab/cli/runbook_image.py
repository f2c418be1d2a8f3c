"""``hxb-lab runbook image build``: the image that runbook Jobs run, as an OCI archive.

The image holds this version of HXB Lab (from its wheel, runbooks included), papermill and
a Python kernel, and runs as an unprivileged user; its tag carries the version, which is
the image a Job submitted by this version names (unless the profile sets
``runbooks.image``). See docs/runbooks.md ("The runbook image").
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from hxb_lab._version import __version__
from hxb_lab.cli._image import build_image, build_wheel, check_inputs, default_tag

__all__ = ["image_app"]

image_app = typer.Typer(
    help="Build the runbook image that Jobs run.", no_args_is_help=True, rich_markup_mode=None
)
_SOURCE = Path(__file__).resolve().parents[2]  # the checkout, when running from one


@image_app.command("build")
def build(
    base: Annotated[
        Path,
        typer.Option(
            help="Base root filesystem: a tar archive with Python 3 (e.g. debootstrap "
            "--variant=minbase --include=python3,python3-venv bookworm, packed with tar).",
        ),
    ],
    tag: Annotated[
        str | None, typer.Option(help="Image name and tag (default: the version's image).")
    ] = None,
    wheel: Annotated[
        Path | None,
        typer.Option(help="The HXB Lab wheel to install (default: built from this checkout)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the OCI archive (default: ./hxb-lab-runbooks-VERSION.tar)."
        ),
    ] = None,
) -> None:
    """Build the runbook image as an OCI archive, then print how to load or push it."""
    output = output or Path(f"hxb-lab-runbooks-{__version__}.tar")
    tag = tag or default_tag()
    check_inputs(base, wheel, tag)  # bad input is refused before any work
    with tempfile.TemporaryDirectory(prefix="hxb-lab-wheel-") as scratch:
        wheel = wheel or build_wheel(_SOURCE, Path(scratch))
        image = build_image(base, wheel, output, tag)
    typer.echo(f"image    {image.tag}")
    typer.echo(f"archive  {image.archive} ({image.size / 2**20:.0f} MiB, {image.seconds:.0f} s)")
    typer.echo(f"digest   {image.digest}")
    typer.echo("load it:  ctr -n k8s.io images import ARCHIVE  |  podman load -i ARCHIVE")
    typer.echo(f"push it:  skopeo copy oci-archive:ARCHIVE docker://{image.tag}")
