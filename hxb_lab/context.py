"""What every facade of one profile shares: the profile, its connections and its clock.

`Workbench` makes one `Context` and hands it to each facade it wires, together with the
other facades that facade reads through (inference gets cluster, metrics and models), so
what a facade depends on is what its constructor takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from hxb_lab import clock
from hxb_lab.clients import Clients
from hxb_lab.config import Profile

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """One profile, its lazily opened connections, and the present for default ranges."""

    profile: Profile
    clients: Clients
    now: Callable[[], datetime] = field(repr=False)

    @classmethod
    def of(cls, profile: Profile, now: Callable[[], datetime] | None = None) -> Context:
        """The context of `profile`: its own connections, and the profile's clock (or `now`)."""
        return cls(profile, Clients(profile), now or partial(clock.now, profile))
