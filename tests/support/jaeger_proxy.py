"""A loopback proxy in front of the real test Jaeger that records the paths asked and, with
``classic_only``, answers 404 for API v3: a stand-in for a Jaeger before API v3 over HTTP,
or a gateway that passes only ``/api/traces`` (no older Jaeger is built for the tests).

    with jaeger_proxy(jaeger.url, classic_only=True) as proxy:
        proxy.url       # point a profile's jaeger.url here
        proxy.paths     # every path asked, in order
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Proxy:
    url: str
    paths: list[str] = field(default_factory=list)


@contextlib.contextmanager
def jaeger_proxy(upstream: str, *, classic_only: bool) -> Iterator[Proxy]:
    """A proxy on a free loopback port forwarding GETs to `upstream`."""
    client = httpx.Client(base_url=upstream, timeout=30)
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            seen.append(path)
            if classic_only and path.startswith("/api/v3/"):
                status, kind, body = 404, "text/plain", b"404 page not found\n"
            else:
                answer = client.get(self.path)
                status, kind = answer.status_code, answer.headers.get("content-type", "")
                body = answer.content
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), daemon=True, name="jaeger-proxy"
    )
    thread.start()
    try:
        yield Proxy(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        client.close()
