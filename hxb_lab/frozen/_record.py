"""Recording a run's reads: every frame a runbook reads through `wb` is kept with the run.

In a run's kernel (``HXB_LAB_RUN_DIR`` set) each facade of the workbench is wrapped: a
call the runbook makes (``wb.cluster.gpus()``, and the reads behind ``wb.view.*``) is
answered by the real facade, and its frame written to ``frozen/`` in the run's directory
as Parquet, listed in ``frozen/frames.json`` with the call, its parameters, its time range,
the profile and the workbench's present. Calls a facade makes to another one inside the
first (inference reading the cluster) are not kept: a replay answers the outer call.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hxb_lab._redact import redact
from hxb_lab.config import Profile
from hxb_lab.frozen._encode import call_key, call_text, digest, plain, write_frame

__all__ = [
    "FROZEN_DIR",
    "MANIFEST",
    "MAX_FRAME_BYTES",
    "MAX_RUN_BYTES",
    "FrameRecorder",
    "recorder_for_run",
]

FROZEN_DIR = "frozen"
MANIFEST = "frames.json"
#: The largest frame kept (as Parquet), and all of a run's frames together; past them a
#: call is listed as not kept (with its size), and a replay of it says so.
#: ``HXB_LAB_FROZEN_MAX_BYTES`` sets the run's total (0 keeps nothing).
MAX_FRAME_BYTES = 64 * 2**20
MAX_RUN_BYTES = 256 * 2**20
#: Time-range arguments a read may take, copied to the manifest as the call's range.
_RANGE = ("start", "end", "since", "until", "window", "last")

_depth = threading.local()
_recorders: dict[Path, FrameRecorder] = {}
_recorders_lock = threading.Lock()


def _redacted(value: Any) -> Any:
    return json.loads(redact(json.dumps(value)))


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 2**10:.1f} KiB"


def _limit() -> int:
    raw = os.environ.get("HXB_LAB_FROZEN_MAX_BYTES", "")
    try:
        return max(0, int(raw)) if raw else MAX_RUN_BYTES
    except ValueError:
        return MAX_RUN_BYTES


class FrameRecorder:
    """Writes the frames of one run's reads to ``<run dir>/frozen``, with their manifest."""

    def __init__(self, directory: Path, profile: Profile, now: datetime, run_id: str = "") -> None:
        self.directory = directory
        self.profile = profile
        self._lock = threading.Lock()
        self.limit = _limit()
        self.manifest: dict[str, Any] = {
            "version": 1,
            "run_id": run_id,
            "profile": profile.name,
            "now": now.isoformat(),
            "calls": [],
        }
        self.total_bytes = 0

    def wrap(self, area: str, facade: Any) -> Any:
        """`facade` whose public methods record what they return."""
        return Recording(area, facade, self)

    def record(self, call: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any,
               seconds: float) -> None:  # fmt: skip
        """Keep `result` of ``wb.<call>(*args, **kwargs)`` (a frame, a Series or plain data)."""
        import pandas as pd

        plain_args, plain_kwargs = plain(list(args)), plain(kwargs)
        entry: dict[str, Any] = {
            "call": call,
            "text": call_text(call, plain_args, plain_kwargs),
            "key": call_key(plain_args, plain_kwargs),
            "args": _redacted(plain_args),
            "kwargs": _redacted(plain_kwargs),
            "range": {k: plain_kwargs[k] for k in _RANGE if plain_kwargs.get(k) is not None},
            "profile": self.profile.name,
            "read_ms": round(seconds * 1000.0, 3),
        }
        with self._lock:
            number = len(self.manifest["calls"]) + 1
            if isinstance(result, pd.DataFrame | pd.Series):
                self._keep_frame(entry, number, result)
            else:
                try:
                    text = json.dumps(plain(result), allow_nan=False)
                    if '{"repr":' in text:
                        raise ValueError(type(result).__name__)
                    entry["value"] = _redacted(json.loads(text))
                except (ValueError, TypeError):
                    entry["skipped"] = f"it returns a {type(result).__name__}, which is not kept"
            self.manifest["calls"].append(entry)
            self._write_manifest()

    def _keep_frame(self, entry: dict[str, Any], number: int, frame: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{number:04d}-{entry['call']}-{digest(entry['key'])}.parquet"
        path = self.directory / name
        started = time.perf_counter()
        try:
            size = write_frame(frame, path)
        except (TypeError, ValueError, OverflowError) as exc:
            path.unlink(missing_ok=True)
            entry["skipped"] = f"its frame could not be written as Parquet: {exc}"
            return
        entry["write_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
        entry["rows"] = len(frame)
        if size > MAX_FRAME_BYTES or self.total_bytes + size > self.limit:
            path.unlink(missing_ok=True)
            limit = (
                f"{_size(MAX_FRAME_BYTES)} for one frame"
                if size > MAX_FRAME_BYTES
                else f"{_size(self.limit)} for all the frames of a run"
            )
            entry["skipped"] = f"its frame of {_size(size)} is over the limit ({limit})"
            return
        self.total_bytes += size
        entry["file"] = name
        entry["bytes"] = size

    def _write_manifest(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.manifest["bytes"] = self.total_bytes
        target = self.directory / MANIFEST
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1))
        tmp.replace(target)


class Recording:
    """A facade whose public methods are answered by it and recorded (outermost calls only)."""

    def __init__(self, area: str, facade: Any, recorder: FrameRecorder) -> None:
        self._area = area
        self._facade = facade
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._facade, name)
        if name.startswith("_") or not callable(value):
            return value
        return self._recorded(name, value)

    def _recorded(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        area, recorder = self._area, self._recorder

        def call(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(_depth, "value", 0)
            _depth.value = depth + 1
            started = time.perf_counter()
            try:
                result = method(*args, **kwargs)
            finally:
                _depth.value = depth
            if depth == 0:
                recorder.record(f"{area}.{name}", args, kwargs, result,
                                time.perf_counter() - started)  # fmt: skip
            return result

        call.__doc__ = method.__doc__
        call.__name__ = name
        return call

    def __dir__(self) -> list[str]:
        return dir(self._facade)

    def __repr__(self) -> str:
        return repr(self._facade)


def recorder_for_run(profile: Profile, now: Callable[[], datetime]) -> FrameRecorder | None:
    """The recorder of the run this process executes (``HXB_LAB_RUN_DIR``), one per run;
    None outside a run, or when ``HXB_LAB_FROZEN_MAX_BYTES`` is 0."""
    run_dir = os.environ.get("HXB_LAB_RUN_DIR")
    if not run_dir or _limit() == 0:
        return None
    directory = Path(run_dir) / FROZEN_DIR
    with _recorders_lock:
        found = _recorders.get(directory)
        if found is None:
            found = FrameRecorder(directory, profile, now(), os.environ.get("HXB_LAB_RUN_ID", ""))
            _recorders[directory] = found
        return found
