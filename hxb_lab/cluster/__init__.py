"""Kubernetes as frames: clusters, nodes, pods, workloads, events, workspaces, GPUs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.workbench import Workbench

__all__ = ["Cluster"]


class Cluster:
    """Reads of the profile's clusters (live API or snapshot) as pandas frames."""

    def __init__(self, wb: Workbench) -> None:
        self._wb = wb

    def __repr__(self) -> str:
        return f"<Cluster of profile {self._wb.profile.name!r}>"
