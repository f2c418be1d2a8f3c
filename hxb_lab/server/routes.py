"""REST routes of the server extension, under ``<base_url>/hxb-lab/api/``.

Every handler derives from `HxbHandler`, so an `HxbLabError` reaches the browser as
JSON ``{"message", "type"}`` with a status that fits it, and anything else as a plain
500 whose details stay in the server log.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from hxb_lab.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    HxbLabError,
    NotFoundError,
    ParameterError,
    QueryError,
)

__all__ = [
    "API_PREFIX",
    "ROUTES",
    "HxbHandler",
    "ProfileActiveHandler",
    "error_status",
    "setup_route_handlers",
]

API_PREFIX = ("hxb-lab", "api")
INTERNAL_ERROR = "internal error; see the server log"

# First match wins; ClusterUnavailableError is a BackendUnavailableError (503).
_STATUS: tuple[tuple[type[HxbLabError], int], ...] = (
    (ConfigError, 400),
    (ParameterError, 400),
    (QueryError, 400),
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (BackendUnavailableError, 503),
)

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def error_status(exc: BaseException) -> int:
    """The HTTP status an exception is answered with."""
    if isinstance(exc, tornado.web.HTTPError):
        return int(exc.status_code)
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


class HxbHandler(APIHandler):
    """Base of every HXB Lab route: JSON bodies, JSON errors, never a traceback."""

    def write_json(self, data: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info: _ExcInfo | None = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if exc is None:
            message = self._reason
            kind = "HTTPError"
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or exc.reason or self._reason
            kind = type(exc).__name__
        elif isinstance(exc, HxbLabError):
            message = str(exc)
            kind = type(exc).__name__
        else:
            message = INTERNAL_ERROR
            kind = "InternalError"
        status = error_status(exc) if exc is not None else status_code
        if status != status_code:
            self.set_status(status)
        self.write_json({"message": message, "type": kind})

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # An HxbLabError already says what to do: one warning line, no traceback.
        if isinstance(value, HxbLabError):
            self.log.warning(
                "%s %s: %s: %s", self.request.method, self.request.path, type(value).__name__, value
            )
            return
        super().log_exception(typ, value, tb)


class ProfileActiveHandler(HxbHandler):
    """``GET profiles/active``: the active profile's name, description and source file."""

    @tornado.web.authenticated
    def get(self) -> None:
        from hxb_lab.config import load_profile

        profile = load_profile()
        self.write_json(
            {"name": profile.name, "description": profile.description, "source": profile.source}
        )


# (pattern below <base_url>/hxb-lab/api/, handler); tests enumerate every route from here.
ROUTES: list[tuple[str, type[HxbHandler]]] = [
    ("profiles/active", ProfileActiveHandler),
]


def setup_route_handlers(web_app: Any) -> None:
    """Register every route of `ROUTES` on the Jupyter server's tornado application."""
    base_url: str = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, *API_PREFIX, pattern), cls) for pattern, cls in ROUTES]
    web_app.add_handlers(".*$", handlers)
