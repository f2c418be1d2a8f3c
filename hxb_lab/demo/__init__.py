"""The embedded ``demo`` platform: a registry of seeders that each layer plugs into.

Each layer owns one seeder: a function that takes a `SeedContext` and writes its part
of the demo platform under ``$HXB_LAB_HOME/demo`` (the cluster snapshot, telemetry
Parquet files, the MLflow store, ...), returning a one-line summary of what it wrote.
`seed()` runs them in registration order and writes ``manifest.json`` last, so a demo
directory without a manifest is never mistaken for a finished one.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hxb_lab._version import __version__
from hxb_lab.clock import MANIFEST, demo_dir, demo_manifest
from hxb_lab.config import load_profile
from hxb_lab.errors import ConfigError, HxbLabError

__all__ = [
    "SIZES",
    "SeedContext",
    "SeedResult",
    "demo_dir",
    "ensure_seeded",
    "manifest",
    "register",
    "seed",
    "seeders",
]

SIZES = ("small", "medium", "large")

#: Built-in seeders, in the order they run: later layers may read what earlier ones wrote
#: (telemetry uses the simulated cluster's node names). "module:function" keeps imports lazy.
_BUILTIN: list[tuple[str, str]] = [
    ("cluster", "hxb_lab.demo.cluster.simulate:seed_demo"),
    # after "cluster": DCGM and Triton metrics use the snapshot's node and pod names
    ("telemetry", "hxb_lab.demo.telemetry.generate:seed_demo"),
    # after "cluster": registry versions match the snapshot's InferenceServices
    ("models", "hxb_lab.demo.models:seed_demo"),
    # after "cluster" and "telemetry": the snapshot's history, beside the telemetry tables
    ("history", "hxb_lab.demo.history:seed_demo"),
]
_registered: dict[str, Callable[[SeedContext], str]] = {}


@dataclass
class SeedContext:
    """What a seeder gets: where to write, how much, and a way to report progress."""

    home: Path  # $HXB_LAB_HOME/demo
    size: str = "medium"
    seed: int = 7
    #: The demo's clock: data is laid out before this instant, and on the demo profile
    #: `Workbench.now()` returns it, so a demo seeded last week still shows its last hour.
    now: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0)
    )
    progress: Callable[[str], None] = field(default=lambda _msg: None)

    def path(self, *parts: str) -> Path:
        """A path under the demo directory, with its parent created."""
        target = self.home.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


@dataclass(frozen=True)
class SeedResult:
    name: str
    summary: str
    seconds: float


def register(name: str, seeder: Callable[[SeedContext], str] | str) -> None:
    """Add a seeder (a function or a ``"module:function"`` string); it runs after the rest."""
    if isinstance(seeder, str):
        _BUILTIN.append((name, seeder))
    else:
        _registered[name] = seeder


def seeders() -> list[tuple[str, Callable[[SeedContext], str]]]:
    """The seeders that `seed()` will run, in order."""
    found: list[tuple[str, Callable[[SeedContext], str]]] = []
    for name, target in _BUILTIN:
        module, _, attr = target.partition(":")
        found.append((name, getattr(importlib.import_module(module), attr)))
    found.extend(_registered.items())
    return found


def manifest() -> dict[str, Any] | None:
    """The manifest of the seeded demo, or None when it has not been seeded (completely)."""
    return demo_manifest()


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One seeding at a time per HXB_LAB_HOME, across processes."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".demo.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def seed(
    size: str = "medium",
    *,
    reset: bool = False,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> list[SeedResult]:
    """Seed the demo platform. Without `reset`, an existing demo of the same size is kept."""
    if size not in SIZES:
        raise ConfigError(f"unknown demo size {size!r}", key="size", hint=f"use one of {SIZES}")
    # The seeders read the profiles file (the models step opens the demo profile's MLflow):
    # a file that is missing or wrong fails here, before a minute of seeding is thrown away.
    load_profile("demo")
    report = progress or (lambda _msg: None)
    target = demo_dir()
    with _locked(target.parent):
        current = manifest()
        if current and not reset and current.get("size") == size:
            report(f"demo already seeded ({size}) at {target}; use --reset to rebuild it")
            return [SeedResult(**part) for part in current.get("parts", [])]
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        ctx = SeedContext(home=target, size=size, seed=seed, progress=report)
        results: list[SeedResult] = []
        try:
            for name, seeder in seeders():
                report(f"seeding {name} ...")
                started = time.perf_counter()
                summary = seeder(ctx)
                results.append(SeedResult(name, summary, round(time.perf_counter() - started, 2)))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)  # no half-seeded demo left behind
            raise
        data = {
            "version": __version__,
            "size": size,
            "seed": seed,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "now": ctx.now.isoformat(),
            "parts": [r.__dict__ for r in results],
        }
        tmp = target / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(target / MANIFEST)
        return results


def ensure_seeded(size: str = "small") -> None:
    """Seed the demo when it has never been seeded, so `hx.connect()` works out of the box."""
    if manifest() is None:
        try:
            seed(size)
        except HxbLabError:
            raise
        except Exception as exc:
            raise HxbLabError(
                f"could not seed the demo platform under {demo_dir()}: {exc}",
                hint="run `hxb-lab demo --reset` to see the full error",
            ) from exc
