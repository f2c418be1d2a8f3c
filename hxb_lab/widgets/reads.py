"""What the views read: the facades of one profile, its name and its clock.

`Workbench` hands `Views` one `Reads`; a view never sees the workbench itself, so the
facades a view uses are the ones listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hxb_lab.cluster import Cluster
    from hxb_lab.config import Profile
    from hxb_lab.gitops import GitOps
    from hxb_lab.inference import Inference
    from hxb_lab.platform import Platform
    from hxb_lab.policy import Policy
    from hxb_lab.telemetry import Logs, Metrics, Traces

__all__ = ["Reads"]


@dataclass(frozen=True)
class Reads:
    """The reads behind `wb.view.*`."""

    profile: Profile
    now: Callable[[], datetime]
    cluster: Cluster
    inference: Inference
    platform: Platform
    traces: Traces
    metrics: Metrics
    logs: Logs
    gitops: GitOps
    policy: Policy
