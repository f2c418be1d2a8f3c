"""Interactive views (ipywidgets + plotly) composed of a domain read, a figure and controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["Views"]


class Views:
    """`wb.view.*`: interactive views over the workbench's frames."""

    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<Views of profile {self._wb.profile.name!r}>"
