"""The process one local run executes in: ``python -m hxb_lab.server._worker``.

The server writes the job as one JSON line on stdin (parameters travel there, never on
the command line, so secrets stay out of ``ps``), then keeps stdin open as a control
channel: a line ``stop <reason>`` stops the run; end of file means the server is gone.
The run is cancelled the way Ctrl-C cancels it in a terminal (the runbooks layer keeps
the outputs); a stop for any reason but ``cancelled`` is recorded as failed with that
reason, in the report and MLflow alike (`Runbook.run`'s `stop_reason`). The last line on
stdout is ``{"run": <Run as JSON>}``.

The worker outlives its server: it runs in a session of its own, its stderr is a file
(the run's ``worker.log``), and it holds its run's lease (`hxb_lab.runbooks`) until the
run's end is on record. A server killed with ``kill -9`` closes its end of stdin, so the
worker stops the run (nobody is left to cancel it, and a runbook may act on the
platform) and records it failed with "server stopped", outputs kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from typing import Any

from hxb_lab.server._records import SERVER_STOPPED

__all__ = ["main"]


class _Stop:
    """The reason the server asked this run to stop (None: it was not asked)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def request(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None or self.finished.is_set():
                return
            self.reason = reason
        os.kill(os.getpid(), signal.SIGINT)  # the runbooks layer cancels on SIGINT

    def listen(self, stream: Any) -> None:
        for line in stream:
            command, _, reason = line.strip().partition(" ")
            if command == "stop":
                self.request(reason or "cancelled")
        self.request(SERVER_STOPPED)  # end of file: the server went away


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.stdin.readline())
    stop = _Stop()
    threading.Thread(target=stop.listen, args=(sys.stdin,), daemon=True, name="hxb-stop").start()

    from hxb_lab.config import load_profile
    from hxb_lab.errors import HxbLabError
    from hxb_lab.runbooks import load
    from hxb_lab.server._records import record_failure

    profile = load_profile(spec["profile"])
    run = None
    error: str | None = None
    try:
        runbook = load(spec["path"], name=spec["runbook"])
        run = runbook.run(
            spec["parameters"],
            profile,
            run_id=spec["run_id"],
            timeout=spec.get("timeout"),
            progress_bar=False,
            stop_reason=lambda: stop.reason,  # a server stop is recorded as failed, with why
        )
    except KeyboardInterrupt:  # stopped before the run had its own Ctrl-C handling
        pass
    except HxbLabError as exc:  # e.g. the kernel is missing: the run never started
        error = str(exc)
    finally:
        stop.finished.set()
    if stop.reason not in (None, "cancelled") and (run is None or run.status == "cancelled"):
        run = record_failure(spec["run_id"], spec["runbook"], str(stop.reason), profile)
    elif run is None:
        reason, status = (
            (error, "failed") if error else ("cancelled before it started", "cancelled")
        )
        run = record_failure(spec["run_id"], spec["runbook"], reason, profile, status=status)
    with contextlib.suppress(OSError):  # the server may be gone: the record is written
        print(json.dumps({"run": run.to_json()}, default=str), flush=True)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
