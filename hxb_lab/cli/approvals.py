"""``hxb-lab approve``, ``hxb-lab reject`` and ``hxb-lab runbook audit``: the second person's
decision on a change a run proposed, and the trail of what alerts started and who decided."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer

from hxb_lab.cli._tables import echo_json_lines, print_table, records, text
from hxb_lab.config import load_profile

__all__ = ["approve", "audit", "reject"]

RunId = Annotated[str, typer.Argument(help="The run whose proposed change is decided")]
Profile = Annotated[str | None, typer.Option("--profile", help="Profile (default: the active one)")]
As = Annotated[
    str | None,
    typer.Option("--as", help="Who decides (default: HXB_LAB_USER, else the login name)"),
]


def _runbooks() -> ModuleType:
    from hxb_lab import runbooks  # loads the runbooks layer: only for these commands

    return runbooks


def _show(decided: dict[str, Any]) -> None:
    last = decided["events"][-1]
    change = decided["change"]
    typer.echo(f"run {decided['run_id']}: {change['summary']}: {decided['state']} by {last['by']}")
    if last.get("answer"):
        typer.echo(str(last["answer"])[:2000])


def approve(run_id: RunId, profile: Profile = None, approver: As = None) -> None:
    """Apply the change a run proposed, exactly as reviewed (a server-side dry run first)."""
    _show(_runbooks().approve(run_id, approver, load_profile(profile)))


def reject(
    run_id: RunId,
    reason: Annotated[str, typer.Option("--reason", help="Why the change is refused")],
    profile: Profile = None,
    approver: As = None,
) -> None:
    """Refuse the change a run proposed; the reason is recorded with the run."""
    _show(_runbooks().reject(run_id, reason, approver, load_profile(profile)))


def audit(
    since: Annotated[str | None, typer.Option(help="A time or an age: 30m, 6h, 2d")] = None,
    profile: Profile = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per line instead of a table")
    ] = False,
) -> None:
    """Runs started by an alert or whose change was decided, newest first (from MLflow)."""
    frame = _runbooks().audit(since, load_profile(profile))
    if as_json:
        echo_json_lines(records(frame))
        return
    rows = []
    for r in frame.itertuples():
        alerts = (r.trigger or {}).get("alerts") or [{}]
        alert = alerts[0].get("labels", {}).get("alertname", "")
        rows.append([r.run_id, r.runbook, r.status, text(r.started)[:19], alert,
                     text(r.started_by), text(r.approval), text(r.decided_by), text(r.target)])  # fmt: skip
    print_table(
        "Audit",
        ["run", "runbook", "status", "started", "alert", "started by", "approval", "decided by",
         "target"],
        rows,
        keep_first=True,
    )  # fmt: skip
