"""Thin, injectable connections to the backends a profile names.

Domain modules never open connections themselves: they ask `Clients`, which opens each
one on first use and closes them all together. Tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hxb_lab.config import Profile

__all__ = ["Clients"]


class Clients:
    """The lazily opened connections of one profile, closed together by `close()`."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._open: dict[str, Any] = {}

    def get(self, name: str, factory: Callable[[Profile], Any]) -> Any:
        """The connection called `name`, opened with `factory(profile)` the first time."""
        if name not in self._open:
            self._open[name] = factory(self.profile)
        return self._open[name]

    def set(self, name: str, client: Any) -> None:
        """Inject a connection (tests, or a caller that already has one)."""
        self._open[name] = client

    def close(self) -> None:
        for client in self._open.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
        self._open.clear()

    def __repr__(self) -> str:
        return f"<Clients {sorted(self._open)} of profile {self.profile.name!r}>"
