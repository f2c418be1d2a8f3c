"""Who owns a run that has not ended: a lease file next to its ``run.json``, renewed by a
heartbeat thread of the owner (the process running papermill, or the server while the run
waits in its queue).

The lease names the owner (pid, the process's start time, host) and when it expires; the
owner renews it every `RENEW_S` seconds for `TTL_S` more, and removes it once the run's end
is recorded. A lease is *void* when it has expired and its owner is gone: on the owner's
host, no process has its pid and start time (nor has any helper that may still write the
run's record, such as the MLflow helper process); on another host, the expiry alone says
so. The run of a void lease is ended by whoever finds it (`_reconcile`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LEASE_FILE",
    "RENEW_S",
    "TTL_S",
    "Heartbeat",
    "Lease",
    "claimed",
    "hand_over",
    "read",
    "remove",
]

LEASE_FILE = "lease.json"
RENEW_S = 5.0
TTL_S = 15.0


def _start_of(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, Linux), so a reused pid is not
    taken for the owner; None where /proc does not say, or for a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the name in parentheses may hold spaces
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # dead, not yet reaped
        return None
    return fields[19]


def alive(pid: int, started: str | None) -> bool:
    """Whether the process `pid` that started at `started` still runs on this host."""
    if pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        now = _start_of(pid)
        return now is not None and (started is None or now == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Lease:
    """The owner of a run and when its claim ends (seconds since the epoch)."""

    run_id: str
    pid: int
    host: str
    expires: float
    started: str | None = None  # the owner's start time (see `_start_of`)
    helpers: tuple[tuple[int, str | None], ...] = ()  # (pid, start) of helper processes

    @classmethod
    def mine(cls, run_id: str, helpers: tuple[tuple[int, str | None], ...] = ()) -> Lease:
        pid = os.getpid()
        return cls(run_id, pid, socket.gethostname(), time.time() + TTL_S, _start_of(pid), helpers)

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires

    def owner_gone(self) -> bool:
        """On the owner's host: neither the owner nor a helper runs. Elsewhere: expired."""
        if self.host != socket.gethostname():
            return self.expired
        processes = ((self.pid, self.started), *self.helpers)
        return not any(alive(pid, start) for pid, start in processes)

    def void(self) -> bool:
        """Expired and its owner gone: the run is nobody's and may be ended by anyone."""
        return self.expired and self.owner_gone()

    def write(self, directory: Path) -> None:
        data = {"run_id": self.run_id, "pid": self.pid, "host": self.host,
                "expires": self.expires, "started": self.started,
                "helpers": [list(h) for h in self.helpers]}  # fmt: skip
        target = directory / LEASE_FILE
        tmp = directory / f".{LEASE_FILE}.{self.pid}.tmp"
        tmp.write_text(json.dumps(data))
        tmp.replace(target)


def read(directory: Path) -> Lease | None:
    """The lease of the run in `directory`; None when there is none (or it is unreadable)."""
    try:
        data = json.loads((directory / LEASE_FILE).read_text())
        helpers = tuple((int(p), None if s is None else str(s)) for p, s in data.get("helpers", []))
        return Lease(
            str(data["run_id"]), int(data["pid"]), str(data["host"]), float(data["expires"]),
            None if data.get("started") is None else str(data["started"]), helpers,
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hand_over(directory: Path, run_id: str) -> None:
    """Leave the run in `directory` to whoever reconciles next: its end is in ``run.json``
    but not yet in MLflow. The lease names no owner and has expired: it is void at once."""
    Lease(run_id, 0, socket.gethostname(), time.time()).write(directory)


def remove(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (directory / LEASE_FILE).unlink()


@contextlib.contextmanager
def claimed(directory: Path) -> Iterator[bool]:
    """Hold the right to end the run in `directory` (an exclusive lock on its lease file),
    so two processes that find it void do not both end it; False when another holds it."""
    try:
        handle = open(directory / LEASE_FILE, "rb")  # noqa: SIM115 - closed below
    except OSError:
        yield False
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


@dataclass
class _Held:
    run_id: str
    helpers: list[tuple[int, str | None]] = field(default_factory=list)


class Heartbeat:
    """Writes this process's lease on each of its runs now, and every `RENEW_S` seconds
    until the run is let go; one daemon thread for all of them."""

    def __init__(self, every_s: float = RENEW_S) -> None:
        self.every_s = every_s
        self._held: dict[Path, _Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, directory: Path, run_id: str) -> None:
        """Own the run in `directory`: its lease names this process from now on."""
        with self._lock:
            held = self._held[directory] = _Held(run_id)
            self._renew(directory, held)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="hxb-lease", daemon=True)
                self._thread.start()

    def add_helper(self, directory: Path, pid: int) -> None:
        """A helper process that may still write the run's record while it lives."""
        with self._lock:
            held = self._held.get(directory)
            if held is not None:
                held.helpers.append((pid, _start_of(pid)))
                self._renew(directory, held)

    def release(self, directory: Path, *, remove_file: bool = True) -> None:
        """Stop renewing; remove the lease (the run's end is recorded) unless told not to
        (another process takes the run over)."""
        with self._lock:
            if self._held.pop(directory, None) is not None and remove_file:
                remove(directory)

    def close(self) -> None:
        with self._lock:
            self._held.clear()
        self._wake.set()

    def _renew(self, directory: Path, held: _Held) -> None:
        with contextlib.suppress(OSError):  # a directory removed meanwhile
            Lease.mine(held.run_id, tuple(held.helpers)).write(directory)

    def _beat(self) -> None:
        while True:
            self._wake.wait(self.every_s)
            with self._lock:
                self._wake.clear()
                if not self._held:  # nothing left to own: `hold` starts a new thread
                    self._thread = None
                    return
                for directory, held in self._held.items():
                    self._renew(directory, held)


@contextlib.contextmanager
def held(directory: Path, run_id: str) -> Iterator[Heartbeat]:
    """This process owns the run in `directory` for the block; the lease goes at its end."""
    heartbeat = Heartbeat()
    heartbeat.hold(directory, run_id)
    try:
        yield heartbeat
    finally:
        heartbeat.release(directory)
        heartbeat.close()
