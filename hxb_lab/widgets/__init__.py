"""Interactive views (ipywidgets + plotly) composed of a domain read, a figure and controls.

Every view shares a time range control, refreshes on demand or on an interval, shows a
loading state and errors inline as one line, and has `.figure()` for static reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab.widgets.cluster import ClusterView
from hxb_lab.widgets.gpus import GpusView
from hxb_lab.widgets.guards import GitOpsView, PolicyView
from hxb_lab.widgets.inference import InferenceView
from hxb_lab.widgets.metrics import MetricsView
from hxb_lab.widgets.platform import PlatformView
from hxb_lab.widgets.reads import Reads
from hxb_lab.widgets.services import ServicesView
from hxb_lab.widgets.traces import TracesView

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ClusterView",
    "GitOpsView",
    "GpusView",
    "InferenceView",
    "MetricsView",
    "PlatformView",
    "PolicyView",
    "Reads",
    "ServicesView",
    "TracesView",
    "Views",
]


class Views:
    """`wb.view.*`: interactive views over the workbench's frames. Common keywords:
    `last` ("15m", "1h", "6h", "24h", "7d"), or `start`/`end`; `refresh_every` seconds.
    """

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def cluster(self, **options: Any) -> ClusterView:
        """Summary cards, a filterable nodes table, the pods of the selected node or workspace."""

        return ClusterView(self._reads, **options)

    def gpus(self, **options: Any) -> GpusView:
        """The GPU fleet heatmap, who holds GPUs, and who holds them without using them."""

        return GpusView(self._reads, **options)

    def inference(self, **options: Any) -> InferenceView:
        """Inference deployments; the selected one's status, traffic, charts and actions."""

        return InferenceView(self._reads, **options)

    def metrics(
        self,
        metric: str | None = None,
        *,
        promql: str | None = None,
        where: dict[str, Any] | None = None,
        by: Sequence[str] | None = None,
        agg: str = "avg",
        rate: bool = False,
        step: str | None = None,
        **options: Any,
    ) -> MetricsView:
        """A metric (``wb.metrics.query`` arguments) or a PromQL expression over time, with
        step, group-by and auto-refresh controls, and the cluster's changes in a lane under
        it (``changes=False``: none).
        """

        return MetricsView(
            self._reads,
            metric=metric,
            promql=promql,
            where=where,
            by=by,
            agg=agg,
            rate=rate,
            step=step,
            **options,
        )

    def traces(self, service: str | None = None, **options: Any) -> TracesView:
        """Services (RED) → a service's slowest and failing traces → one trace's waterfall,
        span attributes and logs.
        """

        return TracesView(self._reads, service=service, **options)

    def platform(self, area: str = "traffic", **options: Any) -> PlatformView:
        """The platform's stack by area (traffic, storage, scaling, notebooks, secrets):
        a figure over the area's tables, and notes on what could not be read."""

        return PlatformView(self._reads, area=area, **options)

    def gitops(self, **options: Any) -> GitOpsView:
        """Argo CD Applications (sync, health, last sync error), then Tekton pipeline runs."""

        return GitOpsView(self._reads, **options)

    def policy(self, **options: Any) -> PolicyView:
        """Gatekeeper's violations per constraint, then Falco's alerts of the time range."""

        return PolicyView(self._reads, **options)

    def services(self, **options: Any) -> ServicesView:
        """The service map of a time range."""

        return ServicesView(self._reads, **options)

    def __repr__(self) -> str:
        return f"<Views of profile {self._reads.profile.name!r}>"
