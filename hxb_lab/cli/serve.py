"""``hxb-lab serve``: the alert receiver as a service of its own (or, with ``--manifests``,
the Kubernetes objects that deploy it)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from hxb_lab.config import hxb_home, load_profile

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=0, max=65535)] = 8080,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile (default: the active one)")
    ] = None,
    workers: Annotated[int, typer.Option(help="Local runs at once", min=1, max=64)] = 2,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the cooldown and rate limits are kept (default: HXB_LAB_HOME/alerts)"
        ),
    ] = None,
    manifests: Annotated[
        bool,
        typer.Option("--manifests", help="Print the Kubernetes objects that deploy it, and stop"),
    ] = False,
) -> None:
    """Receive Alertmanager's webhooks on POST /hxb-lab/api/alerts and start their runbooks."""
    from hxb_lab import triggers  # loads the runbooks layer: only for this command

    chosen = load_profile(profile)
    if manifests:
        import yaml

        objects = triggers.service_objects(chosen)
        sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
        receiver = yaml.safe_dump(
            {"receivers": [triggers.alertmanager_receiver(chosen)]}, sort_keys=False
        )
        sys.stdout.write(
            f"# Create the token first:\n#   kubectl -n {chosen.runbooks.namespace} create "
            f"secret generic {triggers.TOKEN_SECRET} --from-literal=token=$(openssl rand -hex 32)\n"
            "# and give Alertmanager the same token, with this receiver:\n"
            + "".join(f"#   {line}\n" for line in receiver.splitlines())
        )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    pool = triggers.RunPool(chosen, workers=workers)
    alerts = triggers.Receiver(chosen, pool, state_dir=state_dir or hxb_home() / "alerts")
    service = triggers.AlertService(alerts, host, port)
    typer.echo(f"hxb-lab: receiving alerts for profile {chosen.name!r} on {service.url}"
               "/hxb-lab/api/alerts", err=True)  # fmt: skip
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.server_close()
        alerts.close()
        pool.close()
