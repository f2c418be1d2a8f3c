"""The `hxb-lab` command line. Errors print as one line with exit code 2, never a traceback.

One module per group of commands: `profiles`, `cluster`, `demo`, `runbooks`, `alerts`,
`serve`, `record`, `approvals`. Libraries
are imported inside the commands, so ``hxb-lab --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hxb_lab._version import __version__
from hxb_lab.cli import (
    alerts,
    approvals,
    cluster,
    demo,
    profiles,
    record,
    runbook_image,
    runbooks,
    serve,
)
from hxb_lab.errors import HxbLabError

__all__ = ["app", "main"]

app = typer.Typer(
    name="hxb-lab",
    help="HXB Lab: the operations workbench of the HXB Platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich's help renderer alone costs 0.2 s of start-up
)
app.add_typer(profiles.profile_app, name="profile")
app.add_typer(cluster.cluster_app, name="cluster")
app.add_typer(runbooks.runbook_app, name="runbook")
app.add_typer(alerts.alerts_app, name="alerts")
app.command("serve")(serve.serve)
app.command("record")(record.record)
app.command("approve")(approvals.approve)
app.command("reject")(approvals.reject)
runbooks.runbook_app.command("audit")(approvals.audit)
runbooks.runbook_app.add_typer(runbook_image.image_app, name="image")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the HXB Lab version and exit",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """HXB Lab: the operations workbench of the HXB Platform."""


@app.command("version")
def _version() -> None:
    """Print the HXB Lab version."""
    typer.echo(__version__)


app.command("demo")(demo.seed_demo)


def main() -> None:
    """Entry point: run the CLI, printing `HxbLabError`s in one line with exit code 2."""
    try:
        app()
    except HxbLabError as exc:
        typer.echo(f"hxb-lab: error: {exc}", err=True)
        raise SystemExit(2) from None
