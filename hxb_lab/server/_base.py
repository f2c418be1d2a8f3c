"""The base of every HXB Lab route: JSON bodies in and out, JSON errors, no tracebacks.

An `HxbLabError` reaches the browser as ``{"message", "type"}`` with a status that fits
it; a `ParameterError` also carries ``problems`` and ``fields`` (parameter name ->
messages) so a form can show each message on the field it names. Anything else is a
plain 500 whose details stay in the server log.

A request body is at most `MAX_BODY_BYTES` and nests at most `MAX_BODY_DEPTH` deep (a
parameter's `checks.MAX_DEPTH` inside the body's own two levels); either limit is a 413
naming the field ``body``, found before the JSON is parsed. A `ConfigError` names its
key in ``fields`` too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler

from hxb_lab.checks import MAX_DEPTH, body_within
from hxb_lab.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    HxbLabError,
    LimitError,
    NotFoundError,
    ParameterError,
    QueryError,
)

__all__ = [
    "INTERNAL_ERROR",
    "MAX_BODY_BYTES",
    "MAX_BODY_DEPTH",
    "HxbHandler",
    "blocking",
    "error_status",
    "field_errors",
    "jsonable",
]

INTERNAL_ERROR = "internal error; see the server log"
#: The largest request body a route reads (a run's parameters fit many times over).
MAX_BODY_BYTES = 1024 * 1024
MAX_BODY_DEPTH = MAX_DEPTH + 2

# First match wins; ClusterUnavailableError is a BackendUnavailableError (503).
_STATUS: tuple[tuple[type[HxbLabError], int], ...] = (
    (LimitError, 413),
    (ConfigError, 400),
    (ParameterError, 400),
    (QueryError, 400),
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (BackendUnavailableError, 503),
)

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[\d+\])?: (.+)$", re.DOTALL)
T = TypeVar("T")


def error_status(exc: BaseException) -> int:
    """The HTTP status an exception is answered with."""
    if isinstance(exc, tornado.web.HTTPError):
        return int(exc.status_code)
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def field_errors(problems: list[str]) -> dict[str, list[str]]:
    """Problems of the form ``"name: message"`` grouped by the field they name (an item's
    ``"name[2]: message"`` under ``name``, as ``"item 2: message"``)."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        match = _FIELD.match(problem)
        if match:
            name, item, message = match.groups()
            shown = f"item {item[1:-1]}: {message}" if item else message
            fields.setdefault(name, []).append(shown)
    return fields


def jsonable(value: Any) -> Any:
    """`value` with NaN, NaT and infinities as None, so the body is valid JSON for a browser."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return jsonable(value.tolist())
    try:
        missing = bool(value != value)  # NaT; pandas NA refuses to be a bool
    except TypeError:
        missing = True
    if missing:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (files, MLflow, Kubernetes) in a thread; the server stays responsive."""
    from tornado.ioloop import IOLoop

    return await IOLoop.current().run_in_executor(None, fn, *args)


class HxbHandler(APIHandler):
    """Base of every HXB Lab route: JSON bodies, JSON errors, never a traceback."""

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(jsonable(data), allow_nan=False))

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``)."""
        raw = self.request.body or b"{}"
        body_within(
            raw, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH, subject="request",
            too_big="a request may carry: pass names or paths to the data instead",
            too_deep=": flatten the values",
        )  # fmt: skip
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ParameterError([f"body: not valid JSON ({exc})"], subject="request") from None
        if not isinstance(data, dict):
            raise ParameterError(["body: expected a JSON object"], subject="request")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info: _ExcInfo | None = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        extra: dict[str, Any] = {}
        if exc is None:
            message = self._reason
            kind = "HTTPError"
        elif isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or exc.reason or self._reason
            kind = type(exc).__name__
        elif isinstance(exc, HxbLabError):
            message = str(exc)
            kind = type(exc).__name__
            if isinstance(exc, ParameterError):
                extra = {"problems": exc.problems, "fields": field_errors(exc.problems)}
            elif isinstance(exc, ConfigError) and exc.key:
                extra = {"fields": {exc.key: [exc.message]}}
        else:
            message = INTERNAL_ERROR
            kind = "InternalError"
        status = error_status(exc) if exc is not None else status_code
        self.write_json({"message": message, "type": kind, **extra}, status)

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
