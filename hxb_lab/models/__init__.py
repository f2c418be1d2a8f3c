"""The MLflow model registry: registered models, versions, aliases, who serves them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["Models"]


class Models:
    """The profile's MLflow model registry as frames."""

    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<Models of profile {self._wb.profile.name!r}>"
