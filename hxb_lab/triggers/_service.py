"""``hxb-lab serve``: the alert receiver as a small HTTP service of its own, for the
cluster, where alerts arrive when nobody's Jupyter server runs.

``POST /hxb-lab/api/alerts`` is the receiver (the same path as in the Jupyter server);
``GET /healthz`` answers ``ok`` for Kubernetes' probes. Every answer is JSON
``{"message", "type"}`` on error, with the status `status_of` gives: 401 without the
credentials, 413 for a body over the limit (refused before it is read), 400 for a body
that is not Alertmanager's, 5xx (which Alertmanager retries) when a run cannot start.
"""

from __future__ import annotations

import json
import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hxb_lab.errors import (
    BackendUnavailableError,
    ConflictError,
    HxbLabError,
    LimitError,
    ParameterError,
)
from hxb_lab.triggers._auth import Unauthorized
from hxb_lab.triggers._payload import MAX_BODY_BYTES
from hxb_lab.triggers._receiver import Receiver

__all__ = ["ALERTS_PATH", "AlertService", "status_of"]

ALERTS_PATH = "/hxb-lab/api/alerts"
#: A refused body up to this size is read to its end, so the sender sees the answer.
DRAIN_BYTES = 16 * 1024 * 1024
log = logging.getLogger("hxb_lab.triggers")

_STATUS: tuple[tuple[type[HxbLabError], int], ...] = (
    (Unauthorized, 401),
    (LimitError, 413),
    (ParameterError, 400),
    (ConflictError, 409),
    (BackendUnavailableError, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status the receiver answers `exc` with (500 for anything unforeseen)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


class _Handler(BaseHTTPRequestHandler):
    server: AlertService
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, exc: BaseException, unread: int = 0) -> None:
        status = status_of(exc)
        if isinstance(exc, HxbLabError):
            message, kind = str(exc), type(exc).__name__
            log.warning("POST %s: %s: %s", ALERTS_PATH, kind, message)
        else:
            message, kind = "internal error; see the service's log", "InternalError"
            log.error("POST %s", ALERTS_PATH, exc_info=exc)
        headers = {"WWW-Authenticate": 'Bearer realm="hxb-lab"'} if status == 401 else {}
        if unread > DRAIN_BYTES:  # not worth reading: answer, then close the connection
            headers["Connection"] = "close"
            self.close_connection = True
        else:  # read what the client is still sending, so it sees the answer
            while unread > 0:
                unread -= len(self.rfile.read(min(unread, 65536)) or b"x" * unread)
        self._send(status, {"message": message, "type": kind}, headers)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"message": f"no route {self.path[:100]}", "type": "NotFound"})

    def do_POST(self) -> None:
        if self.path.split("?")[0] != ALERTS_PATH:
            self._send(404, {"message": f"no route {self.path[:100]}", "type": "NotFound"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        unread = max(length, 0)
        try:
            if length < 0:
                raise ParameterError(["Content-Length: expected a number of bytes"])
            if length > MAX_BODY_BYTES:
                raise LimitError(
                    [f"body: {length:,} bytes is more than the {MAX_BODY_BYTES:,} a "
                     "notification may carry: lower max_alerts in the Alertmanager receiver"],
                    subject="alert notification",
                )  # fmt: skip
            # Credentials before the body is even read: a stranger's body costs nothing.
            self.server.receiver.authorize(self.headers.get("Authorization"))
            body = self.rfile.read(length)
            unread = 0
            answer = self.server.receiver.receive(body, self.headers.get("Authorization"))
        except Exception as exc:
            self._error(exc, unread)
            return
        log.info("alerts: %s", json.dumps(answer))
        self._send(202 if answer["runs"] else 200, answer)


class AlertService(ThreadingHTTPServer):
    """The receiver on ``host:port``; `serve_forever` until `shutdown`."""

    daemon_threads = True

    def __init__(self, receiver: Receiver, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.receiver = receiver
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is not the service's error: one line, no traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.info("%s closed the connection", client_address[0])
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"
