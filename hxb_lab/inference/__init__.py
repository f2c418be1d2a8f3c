"""Inference deployments (KServe, Seldon, Triton): status, health and guarded actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["Inference"]


class Inference:
    """The profile's inference deployments as frames, and reviewable rollout actions."""

    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<Inference of profile {self._wb.profile.name!r}>"
