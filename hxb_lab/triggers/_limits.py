"""How often alerts may start runs: a cooldown per alert and a rate limit per rule.

`Cooldown` remembers each firing alert by its group key and fingerprint: a group whose
alerts were all seen within the cooldown starts nothing (Alertmanager re-sends a firing
group every ``repeat_interval``, and after a restart). `RateLimit` lets a rule start at
most `max_runs` runs in any `window_s`, counting the alerts it skipped. Both keep
wall-clock times, so the receiver can save them (`snapshot`) and a restarted one go on
from them (`restore`, see `_state`); one receiver (one replica of ``hxb-lab serve``) owns
its alerts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Cooldown", "RateLimit"]

Clock = Callable[[], float]


class Cooldown:
    """Alerts seen within `cooldown_s`, by (group key, fingerprint)."""

    def __init__(self, cooldown_s: float, clock: Clock = time.time) -> None:
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def fresh(self, keys: Iterable[tuple[str, str]]) -> bool:
        """True, and each key remembered from now, when any of `keys` was not seen within
        the cooldown; False (and nothing remembered) when every one was."""
        now = self._clock()
        keys = list(keys)
        with self._lock:
            if len(self._seen) > 100_000:  # forget the expired ones now and then
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.cooldown_s}
            if all(now - self._seen.get(k, -float("inf")) < self.cooldown_s for k in keys):
                return False
            for key in keys:
                self._seen[key] = now
            return True

    def snapshot(self) -> list[list[str | float]]:
        """The keys still within the cooldown, as ``[group key, fingerprint, time]``."""
        now = self._clock()
        with self._lock:
            return [[g, f, t] for (g, f), t in self._seen.items() if now - t < self.cooldown_s]

    def restore(self, seen: Iterable[list[Any]]) -> None:
        """Remember the keys of a `snapshot`."""
        with self._lock:
            for group, fingerprint, at in seen:
                self._seen[(group, fingerprint)] = float(at)

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget `keys` (their run could not start, so a re-sent alert may try again)."""
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)


class RateLimit:
    """At most `max_runs` starts per rule in any `window_s`; `skipped` counts per rule."""

    def __init__(self, max_runs: int, window_s: float, clock: Clock = time.time) -> None:
        self.max_runs = max_runs
        self.window_s = window_s
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}
        self.skipped: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, rule: str, alerts: int = 1) -> bool:
        """True, and the start counted, when `rule` may start a run now; otherwise False
        and its `alerts` counted as skipped."""
        now = self._clock()
        with self._lock:
            starts = self._starts.setdefault(rule, deque())
            while starts and now - starts[0] >= self.window_s:
                starts.popleft()
            if len(starts) >= self.max_runs:
                self.skipped[rule] = self.skipped.get(rule, 0) + alerts
                return False
            starts.append(now)
            return True

    def snapshot(self) -> tuple[dict[str, list[float]], dict[str, int]]:
        """The starts still within the window, per rule, and the skipped counts."""
        now = self._clock()
        with self._lock:
            starts = {
                rule: kept
                for rule, times in self._starts.items()
                if (kept := [t for t in times if now - t < self.window_s])
            }
            return starts, dict(self.skipped)

    def restore(self, starts: dict[str, list[float]], skipped: dict[str, int]) -> None:
        """Go on from a `snapshot`."""
        with self._lock:
            for rule, times in starts.items():
                self._starts[rule] = deque(sorted(float(t) for t in times))
            for rule, count in skipped.items():
                self.skipped[rule] = int(count)
