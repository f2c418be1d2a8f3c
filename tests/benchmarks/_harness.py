"""The benchmark harness: timing helpers and the one-line report format."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One benchmark: our figure against the peer's, lower is better for both."""

    name: str
    ours: float
    peer: float
    peer_name: str
    unit: str = "s"
    goal: str = ""

    @property
    def ratio(self) -> float:
        """How many times better we are than the peer (peer / ours); > 1 means we win."""
        return self.peer / self.ours if self.ours else float("inf")

    def line(self) -> str:
        def fmt(v: float) -> str:
            return f"{v:.4g} {self.unit}"

        goal = f"  goal: {self.goal}" if self.goal else ""
        return (
            f"{self.name:<44} ours {fmt(self.ours):>12}   {self.peer_name}: {fmt(self.peer):>12}"
            f"   ratio {self.ratio:6.2f}x{goal}"
        )


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of `fn()` in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def paired_times(
    ours: Callable[[], object], peer: Callable[[], object], repeat: int = 15, warmup: int = 2
) -> tuple[float, float]:
    """Median wall times of `ours()` and `peer()` called in turns (after `warmup` untimed
    turns), so that a change in the machine's load weighs on both alike."""
    for _ in range(warmup):
        ours()
        peer()
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        for fn, samples in ((ours, mine), (peer, theirs)):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    return statistics.median(mine), statistics.median(theirs)


def command_time(argv: Sequence[str], repeat: int = 7, env: dict[str, str] | None = None) -> float:
    """Median wall time of running a command to completion."""
    return median_time(
        lambda: subprocess.run(argv, check=True, capture_output=True, env=env), repeat=repeat
    )
