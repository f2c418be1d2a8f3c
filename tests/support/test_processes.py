"""The helper every server fixture starts its process with: readiness, failure, stopping."""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import StartError, free_port, launch, start

#: A tiny HTTP server on the port given as its first argument, answering 200 everywhere.
SERVE = """
import http.server, sys
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_is_ready_when_its_url_answers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with start([sys.executable, "-c", SERVE, str(port)], log, f"http://127.0.0.1:{port}/") as p:
        assert p.running
        assert "serving" in log.read_text()
    assert p.returncode == -signal.SIGTERM


def test_a_process_that_exits_early_fails_at_once_with_its_log_tail(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('config: bad value for --port'); raise SystemExit(3)"]
    started = time.monotonic()
    with pytest.raises(StartError) as error:
        start(command, tmp_path / "early.log", lambda: False, timeout=60)
    assert time.monotonic() - started < 10  # not the 60 s timeout
    message = str(error.value)
    assert "exited with 3 before it was ready" in message
    assert message.rstrip().endswith("config: bad value for --port")
    assert error.value.command == command


def test_a_readiness_timeout_names_the_command_and_the_last_probe(tmp_path: Path) -> None:
    port = free_port()  # nothing will listen there
    command = [
        sys.executable,
        "-c",
        "import os, time; print(os.getpid(), flush=True); time.sleep(60)",
    ]
    with pytest.raises(StartError) as error:
        start(command, tmp_path / "slow.log", f"http://127.0.0.1:{port}/", timeout=1)
    message = str(error.value)
    assert "was not ready within 1 s (last probe: " in message
    assert "Connection refused" in message
    assert f"command: {sys.executable} -c 'import os, time;" in message
    # The tail of the log ends the message; the process was stopped, not left behind.
    pid = int(message.splitlines()[-1])
    assert not _alive(pid)


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # A shell whose child ignores SIGTERM: stopping must still end both.
    child = tmp_path / "child.pid"
    script = f"trap '' TERM; sleep 300 & echo $! > {shlex.quote(str(child))}; wait"
    with launch(["sh", "-c", script], tmp_path / "group.log") as process:
        process.wait_ready(lambda: child.exists() and child.read_text().strip(), timeout=30)
        grandchild = int(child.read_text())
        assert os.getpgid(grandchild) == process.pid  # its own group, not the test's
        exited = os.pidfd_open(grandchild)  # readable once that process has exited
        try:
            process.stop(grace=0.5)
            assert not process.running
            readable, _, _ = select.select([exited], [], [], 10)
            assert readable == [exited], "the shell's child outlived the stop"
        finally:
            with contextlib.suppress(ProcessLookupError):  # when the test failed
                signal.pidfd_send_signal(exited, signal.SIGKILL)
            os.close(exited)
