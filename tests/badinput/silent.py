"""A named fake: a TCP server that accepts connections and never answers.

No real ClickHouse, Prometheus or Alertmanager can be made to hang on demand, so this
listener stands in for one whose process is stuck: the kernel completes the handshake,
the request is read, and no byte ever comes back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """``127.0.0.1:<port>`` of a listener that accepts every connection and stays silent."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # kept open, read by no one, answered never

    thread = threading.Thread(target=accept, daemon=True, name="silent-server")
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
