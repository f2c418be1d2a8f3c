"""``hxb-lab alerts``: drive alerts through the receiver from the command line."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Annotated, Any

import typer

from hxb_lab.config import SecretRef, load_profile
from hxb_lab.errors import NotFoundError
from hxb_lab.workbench import connect

__all__ = ["alerts_app", "notification"]

alerts_app = typer.Typer(no_args_is_help=True, help="Alerts that start runbooks.")


def notification(alert: dict[str, Any], receiver: str = "hxb-lab-replay") -> dict[str, Any]:
    """An Alertmanager v4 webhook body for one firing alert (a row of ``wb.alerts.active()``)."""
    import hashlib

    labels = {str(k): str(v) for k, v in alert["labels"].items()}
    identity = json.dumps(labels, sort_keys=True).encode()
    isoformat = getattr(alert.get("starts_at"), "isoformat", None)
    return {
        "version": "4",
        "receiver": receiver,
        "status": "firing",
        "groupKey": f'{{}}:{{alertname="{labels.get("alertname", "")}"}}',
        "groupLabels": {"alertname": labels.get("alertname", "")},
        "commonLabels": labels,
        "commonAnnotations": dict(alert.get("annotations") or {}),
        "externalURL": "",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    str(k): str(v) for k, v in (alert.get("annotations") or {}).items()
                },
                "startsAt": isoformat() if callable(isoformat) else "",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": hashlib.sha256(identity).hexdigest()[:16],
            }
        ],
    }


@alerts_app.command("replay")
def replay(
    alertname: Annotated[
        str | None, typer.Argument(help="The firing alert to replay (default: the first)")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile (default: the active one)")
    ] = None,
) -> None:
    """Send one firing alert of the profile through the receiver, run its runbook locally,
    notify, and print the run."""
    import secrets

    from hxb_lab import triggers  # loads the runbooks layer: only for this command

    chosen = load_profile(profile)
    with connect(chosen.name) as wb:
        firing = wb.alerts.active().to_dict(orient="records")
    names = [str(a["alertname"]) for a in firing]
    picked = [a for a in firing if alertname in (None, a["alertname"])]
    if not picked:
        raise NotFoundError(
            f"no firing alert named {alertname!r} in profile {chosen.name!r}",
            hint=f"firing: {', '.join(names) or 'none'}",
        )
    # The replay authenticates as Alertmanager would, with a token made for it alone.
    variable = "HXB_LAB_REPLAY_TOKEN"
    os.environ[variable] = token = secrets.token_hex(16)
    local = replace(chosen, alerts=replace(chosen.alerts, token=SecretRef(env=variable),
                                           run_on="local"))  # fmt: skip
    pool = triggers.RunPool(local, workers=1)
    try:
        body = json.dumps(notification(picked[0])).encode()
        answer = triggers.Receiver(local, pool).receive(body, f"Bearer {token}")
        typer.echo(json.dumps(answer))
        for run in pool.wait():
            typer.echo(run.summary())
            if run.report:
                typer.echo(f"report: {run.report}")
    finally:
        pool.close()
        os.environ.pop(variable, None)
