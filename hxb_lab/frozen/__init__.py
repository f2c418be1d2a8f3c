"""Frozen reads: the frames a runbook run read through `wb`, kept with the run and answered
again after the live data is gone.

`recorder_for_run` (in a run's kernel) wraps each facade so that its reads are written to
the run's ``frozen/`` directory (`_record`); `FrozenFrames` opens that directory and
answers the same calls from it (`_replay`). The workbench wires both (`hxb_lab.workbench`);
``hx.runbooks.replay(run_id)`` is the user's way in.
"""

from __future__ import annotations

import os
from pathlib import Path

from hxb_lab.frozen._encode import read_frame, write_frame
from hxb_lab.frozen._kept import TABLES, TABLES_DIR, VERDICT, keep_table, keep_verdict
from hxb_lab.frozen._record import (
    FROZEN_DIR,
    MANIFEST,
    MAX_FRAME_BYTES,
    MAX_RUN_BYTES,
    FrameRecorder,
    recorder_for_run,
)
from hxb_lab.frozen._replay import FrozenFrames, NotRecordedError, Replayed

__all__ = [
    "FROZEN_DIR",
    "MANIFEST",
    "MAX_FRAME_BYTES",
    "MAX_RUN_BYTES",
    "REPLAY_ENV",
    "TABLES",
    "TABLES_DIR",
    "VERDICT",
    "FrameRecorder",
    "FrozenFrames",
    "NotRecordedError",
    "Replayed",
    "keep_table",
    "keep_verdict",
    "read_frame",
    "recorder_for_run",
    "replay_from_env",
    "write_frame",
]

#: Set in a kernel to a run's ``frozen/`` directory: `hx.connect()` there is a replay.
REPLAY_ENV = "HXB_LAB_REPLAY"


def replay_from_env() -> FrozenFrames | None:
    """The frames `hx.connect()` answers from in this process (``HXB_LAB_REPLAY``), if any."""
    directory = os.environ.get(REPLAY_ENV)
    return FrozenFrames.open(Path(directory)) if directory else None
