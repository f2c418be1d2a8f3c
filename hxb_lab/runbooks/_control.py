"""The handle on one execution of a notebook: its kernel's environment and working
directory, its deadline, the cell it is at, and how to stop it.

The papermill engine (`_engine`) drives the kernel through it; the local executor arms,
stops and reads it. No papermill here, so holding one costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Control", "RunInterrupted"]


class RunInterrupted(Exception):
    """Raised between cells once a run was cancelled or ran out of time."""


class Control:
    """The handle on one execution: its environment, deadline, and how to stop it."""

    def __init__(
        self,
        env: dict[str, str],
        cwd: str,
        redact: Callable[[Any], None] | None = None,
        on_cell: Callable[[int | None], None] | None = None,
        kernel_log: str | None = None,
    ) -> None:
        self.env = env
        self.kernel_log = kernel_log  # the kernel's own stdout and stderr go there
        self.cwd = cwd
        self.redact = redact
        self.on_cell = on_cell
        self.reason: str | None = None  # "cancelled" or "timed_out" once stopped
        self.current_cell: int | None = None
        self.started = threading.Event()  # set when the kernel is up
        self._client: Any = None
        self._timer: threading.Timer | None = None
        self._kill_timer: threading.Timer | None = None

    # ------------------------------------------------------------------ stopping
    def _kernel_pid(self) -> int | None:
        km = getattr(self._client, "km", None)
        provisioner = getattr(km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
        return pid if isinstance(pid, int) else None

    def _signal_kernel(self, signum: int) -> None:
        pid = self._kernel_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self, reason: str, grace_s: float = 10.0) -> None:
        """Interrupt the running cell (KeyboardInterrupt in the kernel), then kill the
        kernel if it has not stopped after `grace_s` seconds."""
        if self.reason is not None:
            return
        self.reason = reason
        self._signal_kernel(signal.SIGINT)
        self._kill_timer = threading.Timer(grace_s, self._signal_kernel, (signal.SIGKILL,))
        self._kill_timer.daemon = True
        self._kill_timer.start()

    def arm(self, timeout_s: float | None) -> None:
        """Stop the run with reason ``timed_out`` after `timeout_s` seconds."""
        if timeout_s:
            self._timer = threading.Timer(timeout_s, self.stop, ("timed_out",))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        for timer in (self._timer, self._kill_timer):
            if timer is not None:
                timer.cancel()

    # ------------------------------------------------------------------ hooks
    def attach(self, client: Any) -> None:
        self._client = client

    def cell_starting(self, index: int | None) -> None:
        if self.reason is not None:
            raise RunInterrupted(self.reason)
        self.current_cell = index
        if self._kernel_pid() is not None:
            self.started.set()
        if self.on_cell is not None:
            self.on_cell(index)
