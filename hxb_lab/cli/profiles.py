"""``hxb-lab profile ...``: list and inspect platform profiles."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hxb_lab.cli._tables import echo_json_lines, print_table
from hxb_lab.config import active_profile_name, load_profile, profiles
from hxb_lab.context import Context
from hxb_lab.telemetry.backends import check

__all__ = ["profile_app"]

profile_app = typer.Typer(
    help="List and inspect platform profiles.", no_args_is_help=True, rich_markup_mode=None
)


@profile_app.command("list")
def profile_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per line instead of a table")
    ] = False,
) -> None:
    """List the profiles: the built-in demo and those of the profiles file."""
    active = active_profile_name()
    if as_json:
        echo_json_lines([
            {"name": name, "active": name == active, "source": p.source,
             "description": p.description}
            for name, p in sorted(profiles().items())
        ])  # fmt: skip
        return
    rows = [
        ["*" if name == active else "", name, p.source, p.description]
        for name, p in sorted(profiles().items())
    ]
    print_table("Profiles", ["active", "name", "source", "description"], rows)


@profile_app.command("show")
def profile_show(
    name: Annotated[
        str | None, typer.Argument(help="Profile name (default: the active one)")
    ] = None,
) -> None:
    """Show one profile as JSON, with secrets and URL passwords redacted."""
    typer.echo(json.dumps(load_profile(name).to_dict(), indent=2))


@profile_app.command("check")
def profile_check(
    name: Annotated[
        str | None, typer.Argument(help="Profile name (default: the active one)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per backend instead of lines")
    ] = False,
) -> None:
    """Ask each telemetry backend of a profile whether it answers and what it holds.

    One line per backend: ok or FAILED, its server (passwords redacted), and the tables,
    indices, jobs or alerts it found, or why it failed. Exits 1 when any backend fails.
    """
    context = Context.of(load_profile(name))
    try:
        results = check(context)
    finally:
        context.clients.close()
    if as_json:
        echo_json_lines([r.to_dict() for r in results])
    else:
        if not results:
            typer.echo(f"profile {context.profile.name!r} names no telemetry backend")
        for r in results:
            state = "ok" if r.answers else "FAILED"
            said = ", ".join(r.found) if r.found else ""
            tail = "; ".join(part for part in (r.detail, said and f"found {said}") if part)
            typer.echo(f"{r.backend:<13} {state:<6} {r.server}  {tail}".rstrip())
    if any(not r.answers for r in results):
        raise typer.Exit(1)
