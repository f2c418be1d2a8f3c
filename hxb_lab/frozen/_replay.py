"""Answering a run's reads again from the frames it kept (`_record`).

`FrozenFrames` opens a run's ``frozen/`` directory; `area("cluster")` is a stand-in for
``wb.cluster`` whose methods return the frame the run read for the same call (same
arguments, same order when a call was made more than once), and raise `NotRecordedError`,
naming the call, for one the run did not make or did not keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hxb_lab.errors import NotFoundError
from hxb_lab.frozen._encode import call_key, call_text, plain, read_frame
from hxb_lab.frozen._record import MANIFEST

__all__ = ["FrozenFrames", "NotRecordedError", "Replayed"]


class NotRecordedError(NotFoundError):
    """A replayed workbench was asked for a read the run did not keep."""


class FrozenFrames:
    """The frames one run read, by call."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.run_id = str(manifest.get("run_id") or directory.parent.name)
        self.profile = str(manifest.get("profile") or "demo")
        self._served: dict[tuple[str, str], int] = {}

    @classmethod
    def open(cls, directory: Path) -> FrozenFrames:
        """The frames kept in `directory` (a run's ``frozen/``); `NotFoundError` without them."""
        path = directory / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise NotFoundError(
                f"no frames were kept in {directory}",
                hint="only runs made with frozen reads can be replayed",
            ) from None
        except ValueError as exc:
            raise NotFoundError(f"{path} cannot be read: {exc}") from None
        return cls(directory, manifest)

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The manifest's entries: call, text, args, kwargs, range, file, rows, bytes..."""
        return list(self.manifest.get("calls") or [])

    def now(self) -> datetime:
        """The present of the run's workbench (default time ranges start from it)."""
        return datetime.fromisoformat(str(self.manifest["now"]))

    def area(self, name: str) -> Replayed:
        """The stand-in for ``wb.<name>``."""
        return Replayed(name, self)

    def answer(self, call: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """What the run read for ``wb.<call>(*args, **kwargs)``."""
        plain_args, plain_kwargs = plain(list(args)), plain(kwargs)
        key = call_key(plain_args, plain_kwargs)
        same = [c for c in self.calls if c.get("call") == call and c.get("key") == key]
        text = call_text(call, plain_args, plain_kwargs)
        if not same:
            made = sorted({c["text"] for c in self.calls if c.get("call") == call})
            hint = (
                f"it made {'; '.join(made[:5])}" if made
                else "it made no call of this read"
            )  # fmt: skip
            raise NotRecordedError(f"{text} was not recorded in run {self.run_id}", hint=hint)
        served = self._served.get((call, key), 0)
        entry = same[min(served, len(same) - 1)]
        self._served[(call, key)] = served + 1
        if "skipped" in entry:
            raise NotRecordedError(
                f"{text} was not kept with run {self.run_id}: {entry['skipped']}"
            )
        if "value" in entry:
            return entry["value"]
        return read_frame(self.directory / str(entry["file"]))


class Replayed:
    """``wb.<area>`` answered from a run's frames."""

    def __init__(self, area: str, frames: FrozenFrames) -> None:
        self._area = area
        self._frames = frames

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        call = f"{self._area}.{name}"
        frames = self._frames

        def replayed(*args: Any, **kwargs: Any) -> Any:
            return frames.answer(call, args, kwargs)

        replayed.__name__ = name
        return replayed

    def __repr__(self) -> str:
        return f"<wb.{self._area} replayed from run {self._frames.run_id}>"
