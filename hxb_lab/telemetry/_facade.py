"""The base of the telemetry facades: each reads through the profile's context."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.context import Context


class Facade:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of profile {self._ctx.profile.name!r}>"
