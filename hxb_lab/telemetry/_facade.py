"""The base of the telemetry facades: each holds the workbench it reads through."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench


class Facade:
    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of profile {self._wb.profile.name!r}>"
