"""`hx.connect()`: one profile's connections plus the facades users explore with."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hxb_lab.config import Profile, load_profile

if TYPE_CHECKING:
    from hxb_lab.clients import Clients

__all__ = ["Workbench", "connect"]

#: facade attribute -> "module:Class"; each class takes the Workbench. Imported on first use
#: so that `import hxb_lab` stays fast.
FACADES: dict[str, str] = {
    "cluster": "hxb_lab.cluster:Cluster",
    "inference": "hxb_lab.inference:Inference",
    "traces": "hxb_lab.telemetry:Traces",
    "metrics": "hxb_lab.telemetry:Metrics",
    "logs": "hxb_lab.telemetry:Logs",
    "alerts": "hxb_lab.telemetry:Alerts",
    "models": "hxb_lab.models:Models",
    "view": "hxb_lab.widgets:Views",
}


class Workbench:
    """The connections of one profile and the facades over them (`wb.cluster`, `wb.traces`...).

    Connections are opened lazily, on the first read that needs them.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._facades: dict[str, Any] = {}

    @cached_property
    def clients(self) -> Clients:
        from hxb_lab.clients import Clients

        return Clients(self.profile)

    def now(self) -> datetime:
        """The present for default time ranges: the seed time on the demo, else the clock."""
        if self.profile.is_demo:
            from hxb_lab.demo import manifest

            anchor = (manifest() or {}).get("now")
            if anchor:
                return datetime.fromisoformat(anchor)
        return datetime.now(UTC)

    def __getattr__(self, name: str) -> Any:
        target = FACADES.get(name)
        if target is None:
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        if name not in self._facades:
            module, _, cls = target.partition(":")
            self._facades[name] = getattr(importlib.import_module(module), cls)(self)
        return self._facades[name]

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(FACADES))

    def close(self) -> None:
        """Close every connection that was opened."""
        if "clients" in self.__dict__:
            self.clients.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workbench profile={self.profile.summary().removeprefix('name=')}>"


def connect(profile: str | None = None) -> Workbench:
    """Open the workbench of a profile (default: the active one, else the embedded demo).

    On the demo profile the embedded platform is seeded on first use.
    """
    chosen = load_profile(profile)
    if chosen.is_demo:
        from hxb_lab.demo import ensure_seeded

        ensure_seeded()
    return Workbench(chosen)
