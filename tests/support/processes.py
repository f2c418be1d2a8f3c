"""External processes of the tests: a free loopback port, a command started in a session of
its own (output to a log file), ready when a probe says so, stopped by process group.

    with start([binary, f"--port={port}"], log, ready=http_probe(url)) as server:
        ...

A process that exits before it is ready, or is not ready in time, raises `StartError`,
which names the command and ends with the tail of its log. Readiness is polled by waiting
on the process itself (so an early exit is seen at once), never by a fixed sleep.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HttpProbe",
    "Process",
    "StartError",
    "free_port",
    "http_probe",
    "launch",
    "start",
    "stop",
    "wait_port_free",
]

#: What `start` waits for: a URL (ready when it answers 200) or a callable (ready when true).
Ready = str | Callable[[], object]


class StartError(RuntimeError):
    """A process did not become ready: it exited, or time ran out. The message names the
    command and ends with the tail of the log."""

    def __init__(self, name: str, reason: str, command: list[str], log: Path, tail: str) -> None:
        super().__init__(f"{name} {reason}\n  command: {shlex.join(command)}\n  log: {log}\n{tail}")
        self.name = name
        self.reason = reason
        self.command = command
        self.log = log
        self.tail = tail


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port_free(port: int, timeout: float = 10.0) -> bool:
    """Wait until `port` on 127.0.0.1 can be bound again (a stopped server's port may be held
    by the kernel for a moment; nothing signals its release, so it is polled)."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
        time.sleep(0.1)


@dataclass
class HttpProbe:
    """Ready when `url` answers `status` (any HTTP answer when `status` is None). `last`
    says what the latest probe saw, for the error message."""

    url: str
    status: int | None = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    context: ssl.SSLContext | None = field(default=None, repr=False)
    timeout: float = 2.0
    last: str = "not probed"

    def __call__(self) -> bool:
        request = urllib.request.Request(self.url, headers=dict(self.headers))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as r:
                self.last = f"HTTP {r.status}"
                return self.status is None or r.status == self.status
        except urllib.error.HTTPError as exc:
            body = exc.read(600).decode("utf-8", "replace")
            self.last = f"HTTP {exc.code}: {body}"
            return self.status is None or exc.code == self.status
        except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
            self.last = repr(exc)
            return False


def http_probe(
    url: str,
    *,
    status: int | None = 200,
    headers: Mapping[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 2.0,
) -> HttpProbe:
    """A readiness check: `url` answers `status` (None: any HTTP answer will do)."""
    return HttpProbe(url, status, dict(headers or {}), context, timeout)


@dataclass(eq=False)
class Process:
    """A command running in a session of its own, stdout and stderr going to `log`."""

    command: list[str]
    log: Path
    popen: subprocess.Popen[bytes] = field(repr=False)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or Path(self.command[0]).name

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the log."""
        try:
            with self.log.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 256 * 1024))
                text = f.read().decode("utf-8", "replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return "\n".join(text.splitlines()[-lines:]) or "<empty log>"

    def wait_ready(self, ready: Ready, timeout: float, *, also: Iterable[Process] = ()) -> None:
        """Poll `ready` until it holds; `StartError` if this process (or one of `also`, the
        processes it depends on) exits first, or after `timeout` seconds."""
        probe = http_probe(ready) if isinstance(ready, str) else ready
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.running:
                raise self._error(f"exited with {self.returncode} before it was ready")
            for other in also:
                if not other.running:
                    raise other._error(f"exited with {other.returncode} while {self.name} started")
            if probe():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                last = f" (last probe: {probe.last})" if isinstance(probe, HttpProbe) else ""
                raise self._error(f"was not ready within {timeout:g} s{last}")
            # Waiting on the process, not sleeping: an exit ends the wait at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(min(delay, left))
            delay = min(delay * 1.5, 0.5)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace` seconds; waits for the exit.
        Idempotent."""
        if self.popen.poll() is not None:
            return
        _signal_group(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(self.pid, signal.SIGKILL)
            self.popen.wait()

    def _error(self, reason: str) -> StartError:
        return StartError(self.name, reason, self.command, self.log, self.tail())


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, resolved in the parent (a forked child should not load libraries)."""
    try:
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGKILL the child when the test process dies (even by SIGKILL)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def launch(
    command: list[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    name: str = "",
    append: bool = False,
) -> Process:
    """Start `command` in a session of its own, stdout and stderr to `log` (appended to,
    after a header line, with `append`). It dies with the test process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as out:
        if append:
            out.write(f"\n==== {time.strftime('%H:%M:%S')} {shlex.join(command)}\n".encode())
            out.flush()
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
            # The parent-death signal fires when the *thread* that forked exits, so only
            # the main thread asks for it.
            preexec_fn=(
                _die_with_parent if threading.current_thread() is threading.main_thread() else None
            ),
        )
    return Process(command, log, popen, name)


def start(
    command: list[str],
    log: Path,
    ready: Ready,
    *,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    name: str = "",
    append: bool = False,
    also: Iterable[Process] = (),
) -> Process:
    """`launch` the command and wait until `ready` holds (see `Process.wait_ready`); if it
    does not, stop the process and raise `StartError`."""
    process = launch(command, log, env=env, cwd=cwd, name=name, append=append)
    try:
        process.wait_ready(ready, timeout, also=also)
    except BaseException:
        process.stop()
        raise
    return process


def stop(process: Process, grace: float = 15.0) -> None:
    """`Process.stop`, for fixtures that hold only the process."""
    process.stop(grace)
