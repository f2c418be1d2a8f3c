"""The Jupyter server extension: REST routes the JupyterLab extension talks to.

Enabled by ``jupyter-config/server-config/hxb_lab.json`` (installed into
``etc/jupyter/jupyter_server_config.d``) or ``jupyter server extension enable hxb_lab``.
Every route lives under ``<base_url>/hxb-lab/api/`` and is listed in `ROUTES`. Importing
this package is cheap (a run's worker process imports it): Jupyter Server and tornado are
loaded with the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hxb_lab.server.routes import ROUTES, setup_route_handlers

__all__ = ["ROUTES", "setup_route_handlers"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hxb_lab.server import routes

        return getattr(routes, name)
    raise AttributeError(f"module 'hxb_lab.server' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from hxb_lab.server.app import HxbLabApp

    return [{"module": "hxb_lab.server", "app": HxbLabApp}]
