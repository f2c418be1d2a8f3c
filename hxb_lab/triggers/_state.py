"""The receiver's cooldown and rate-limit counters, kept in a small JSON file so that a
restarted receiver (a new ``hxb-lab serve`` pod, a restarted Jupyter server) remembers
which groups it already started a run for.

The file is ``<state dir>/alerts-<profile>.json``: times are wall-clock seconds (a
monotonic clock means nothing to the next process). It is written whole, to a temporary
file renamed over the old one, under a lock: only when a run starts, a start failed, or a
rule's skipped count changed, never for an alert that changed nothing. The request that
changed something only says so (`changed`); a writer thread of its own writes the newest
state, so changes that come while it writes (a storm) make one write, and no request waits
on the disk. `close` (the receiver stopping) writes what is left. A file that cannot be
read or is not this shape is one warning in the log and an empty state.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["StateFile", "state_path"]

log = logging.getLogger("hxb_lab.triggers")
VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def state_path(directory: Path, profile: str) -> Path:
    """Where the receiver of `profile` keeps its state under `directory`."""
    return directory / f"alerts-{_UNSAFE.sub('_', profile)}.json"


def _valid(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return False
    seen, starts, skipped = data.get("seen"), data.get("starts"), data.get("skipped")
    number = (int, float)
    return (
        isinstance(seen, list)
        and all(
            isinstance(e, list)
            and len(e) == 3
            and isinstance(e[0], str)
            and isinstance(e[1], str)
            and isinstance(e[2], number)
            for e in seen
        )
        and isinstance(starts, dict)
        and all(
            isinstance(v, list) and all(isinstance(t, number) for t in v) for v in starts.values()
        )
        and isinstance(skipped, dict)
        and all(isinstance(v, int) and v >= 0 for v in skipped.values())
    )


class StateFile:
    """One receiver's state file (see the module docstring)."""

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self._changes = threading.Condition()
        self._wanted = self._written = 0
        self._closed = False
        self._writer: threading.Thread | None = None

    def changed(self) -> None:
        """The state changed: the writer thread writes it soon (at once when idle)."""
        with self._changes:
            self._wanted += 1
            if self._writer is None and not self._closed:
                self._writer = threading.Thread(
                    target=self._write_changes, name="hxb-alert-state", daemon=True
                )
                self._writer.start()
            self._changes.notify_all()

    def _write_changes(self) -> None:
        while True:
            with self._changes:
                self._changes.wait_for(lambda: self._written < self._wanted or self._closed)
                if self._written == self._wanted:
                    return  # closed, everything written
                wanted = self._wanted
            self.write(self._snapshot())
            with self._changes:
                self._written = wanted
                self._changes.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every change so far is written; False if `timeout` passed first."""
        with self._changes:
            return self._changes.wait_for(lambda: self._written >= self._wanted, timeout)

    def close(self) -> None:
        """Write what is left, and stop the writer thread."""
        with self._changes:
            self._closed = True
            self._changes.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join()

    def read(self) -> dict[str, Any]:
        """``{"seen": [[group key, fingerprint, time]], "starts": {rule: [time]},
        "skipped": {rule: count}}``; empty when there is no file, or it is unreadable."""
        empty: dict[str, Any] = {"seen": [], "starts": {}, "skipped": {}}
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return empty
        except (OSError, ValueError) as exc:
            log.warning("alert receiver state %s unreadable (%s): starting afresh",
                        self.path, type(exc).__name__)  # fmt: skip
            return empty
        if not _valid(data):
            log.warning("alert receiver state %s is not a state file of version %d: "
                        "starting afresh", self.path, VERSION)  # fmt: skip
            return empty
        return data  # type: ignore[no-any-return]

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file with `data` at once (a temporary file renamed over it); a
        failure is a warning: the receiver goes on with its memory."""
        body = json.dumps({"version": VERSION, **data}, separators=(",", ":")).encode()
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".alerts-", dir=self.path.parent)
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(body)
                    os.replace(tmp, self.path)
                except BaseException:
                    os.unlink(tmp)
                    raise
            except OSError as exc:
                log.warning("alert receiver state %s not written: %s", self.path, exc)
