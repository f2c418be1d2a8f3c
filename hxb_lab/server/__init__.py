"""The Jupyter server extension: REST routes the JupyterLab extension talks to.

Enabled by ``jupyter-config/server-config/hxb_lab.json`` (installed into
``etc/jupyter/jupyter_server_config.d``) or ``jupyter server extension enable hxb_lab``.
"""

from __future__ import annotations

from typing import Any

from hxb_lab.server.routes import ROUTES, setup_route_handlers

__all__ = ["ROUTES", "setup_route_handlers"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hxb_lab.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the HXB Lab routes on the running Jupyter server."""
    setup_route_handlers(server_app.web_app)
    server_app.log.info("hxb_lab: registered %d route(s) under /hxb-lab/api", len(ROUTES))
