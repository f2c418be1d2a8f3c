"""The cluster-history recorder as a mode of the server: ``c.HxbLabApp.record_history = True``.

When the server starts, the recorder of ``hxb-lab record`` follows the live clusters of the
profile active then, in one thread of the server, and writes their changes to the
profile's telemetry store (what ``wb.cluster.history()`` and ``wb.cluster.at()`` read).
The server's stop stops it and waits for its watches. A profile whose cluster is a
snapshot is not recorded (a snapshot does not change): one log line says so. A recorder
that fails (no API server, no store) logs one line, secrets masked, and the server goes on
without it; the next server start resumes where the table ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from hxb_lab._redact import redact
from hxb_lab.cluster.record import Recorder
from hxb_lab.config import load_profile
from hxb_lab.errors import HxbLabError
from hxb_lab.workbench import Workbench

__all__ = ["HISTORY_SETTING", "HistoryRecording"]

#: The key of the `HistoryRecording` in the tornado application's settings.
HISTORY_SETTING = "hxb_lab_history"
THREAD_NAME = "hxb_lab history recorder"
log = logging.getLogger("hxb_lab.server")


class HistoryRecording:
    """The server's recorder: `start()` once, `stop()` when the server stops."""

    def __init__(self, kinds: Sequence[str] | None = None, stop_s: float = 15.0) -> None:
        self.kinds = list(kinds) if kinds else None
        self.stop_s = stop_s
        #: The running recorder (None before it starts and on a snapshot profile).
        self.recorder: Recorder | None = None
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def stop(self) -> bool:
        """Stop the recorder and wait for it; False when it did not end within `stop_s`."""
        self._halt.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(self.stop_s)
        return not thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            profile = load_profile(None)
            if profile.kube.snapshot:
                log.info(
                    "hxb_lab: not recording the cluster history: profile %r reads the snapshot "
                    "%s, which does not change",
                    profile.name,
                    profile.kube.snapshot,
                )
                return
            with Workbench(profile) as wb:
                recorder = wb.cluster.recorder(self.kinds, progress=_progress)
                where = redact(repr(recorder.store))
                log.info(
                    "hxb_lab: recording the cluster history of %r into %s", profile.name, where
                )
                self.recorder = recorder
                done = recorder.run(stop=self._halt)
            log.info("hxb_lab: cluster history recorder stopped: %s", done.line())
        except Exception as exc:  # the server goes on without it
            what = exc.message if isinstance(exc, HxbLabError) else f"{type(exc).__name__}: {exc}"
            log.warning(
                "hxb_lab: recording the cluster history stopped: %s (it resumes at the next "
                "server start)",
                redact(" ".join(str(what).split())),
            )


def _progress(message: str) -> None:
    log.info("hxb_lab: %s", redact(message))
