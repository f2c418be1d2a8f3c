"""`wb.view.platform()`: the platform's stack, one area at a time (traffic, storage, scaling,
notebooks, secrets), each a figure over its tables; what a read could not cover is listed
under the area as notes (an absent CRD, a kind the user may not list)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from hxb_lab.cluster import IDLE_BELOW_PCT
from hxb_lab.errors import ParameterError
from hxb_lab.widgets import _html
from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["AREAS", "PlatformView"]

AREAS = ("traffic", "storage", "scaling", "notebooks", "secrets")

ROUTE_COLUMNS = (
    "namespace", "virtual_service", "route", "destination", "subset", "weight", "revision",
    "inference_service", "requests_per_s", "error_rate", "p95_ms",
)  # fmt: skip
INGRESS_COLUMNS = (
    "namespace", "kind", "name", "ingress_class", "host", "path", "service", "deployment",
    "tls_secret", "tls_expires", "tls_days_left",
)  # fmt: skip
VOLUME_COLUMNS = (
    "namespace", "claim", "status", "storage_class", "requested_bytes", "capacity_bytes",
    "access_modes", "pods", "model_cache",
)  # fmt: skip
CEPH_COLUMNS = ("namespace", "name", "phase", "health", "checks", "used_share", "last_checked")
SCALER_COLUMNS = (
    "namespace", "kind", "name", "target_name", "inference_service", "min_replicas",
    "max_replicas", "current_replicas", "desired_replicas", "metric", "target", "current",
    "at_max", "limited", "last_scale",
)  # fmt: skip
BUDGET_COLUMNS = (
    "namespace", "name", "selector", "min_available", "max_unavailable", "current_healthy",
    "disruptions_allowed", "blocks_eviction",
)  # fmt: skip
NOTEBOOK_COLUMNS = (
    "namespace", "name", "status", "gpus", "mig_devices", "gpu_product", "node",
    "utilization_pct", "samples", "cull_candidate", "last_activity",
)  # fmt: skip
SECRET_COLUMNS = (
    "namespace", "kind", "name", "target_secret", "store", "synced", "reason", "message",
    "last_sync",
)  # fmt: skip


class PlatformView(View):
    """The platform's stack by area; `area` is one of `AREAS`."""

    title = "Platform"

    def __init__(self, *args: object, area: str = "traffic", **options: object) -> None:
        if area not in AREAS:
            raise ParameterError([f"area: {area!r} is not one of {', '.join(AREAS)}"])
        self._area = area
        super().__init__(*args, **options)  # type: ignore[arg-type]

    def _build(self) -> None:
        import ipywidgets as w

        self.area = w.ToggleButtons(options=list(AREAS), value=self._area)
        self.pane = FigurePane()
        self.notes = w.HTML()
        self.first = Table()
        self.second = Table()
        self.area.observe(lambda _c: self.refresh(), "value")
        self.body.children = [
            self.area, self.pane.widget, self.first.widget, self.second.widget, self.notes,
        ]  # fmt: skip

    def _load(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._show_area(str(self.area.value))
        lines = list(dict.fromkeys(str(c.message) for c in caught))
        self.notes.value = "".join(
            f'<div class="hxb-muted">note: {_html.esc(line)}</div>' for line in lines
        )

    def _show_area(self, area: str) -> None:
        viz = self.viz
        platform = self._reads.platform
        if area == "traffic":
            start, end = self.range()
            routes, ingresses = platform.routes(), platform.ingresses()
            self.pane.show(viz.traffic_split(routes))
            self.first.columns, self.second.columns = list(ROUTE_COLUMNS), list(INGRESS_COLUMNS)
            measured = platform.route_metrics(start=start, end=end)
            self.first.show(
                measured, caption=f"routes with Istio's metrics, {self.time.describe()}"
            )
            self.second.show(ingresses, caption="Ingresses and IngressRoutes")
        elif area == "storage":
            volumes = platform.volumes()
            self.pane.show(viz.claim_status(volumes))
            self.first.columns, self.second.columns = list(VOLUME_COLUMNS), list(CEPH_COLUMNS)
            self.first.show(volumes, caption="claims and volumes")
            self.second.show(platform.ceph(), caption="Ceph clusters")
        elif area == "scaling":
            scalers = platform.autoscalers()
            self.pane.show(viz.autoscaler_headroom(scalers))
            self.first.columns, self.second.columns = list(SCALER_COLUMNS), list(BUDGET_COLUMNS)
            self.first.show(scalers, caption="autoscalers")
            self.second.show(platform.disruption_budgets(), caption="PodDisruptionBudgets")
        elif area == "notebooks":
            start, end = self.range()
            books = platform.idle_notebooks(start=start, end=end, idle_below=IDLE_BELOW_PCT)
            self.pane.show(viz.notebook_utilization(books))
            self.first.columns = list(NOTEBOOK_COLUMNS)
            self.first.show(books, caption=f"notebooks holding GPUs, {self.time.describe()}")
            self.second.columns = ["namespace", "name", "status", "image", "node"]
            self.second.show(platform.notebooks(), caption="all notebooks")
        else:
            syncs = platform.secret_syncs()
            self.pane.show(viz.certificate_expiry(platform.ingresses()))
            self.first.columns = list(SECRET_COLUMNS)
            self.first.show(syncs, caption="ExternalSecrets and SealedSecrets (never values)")
            self.second.show(syncs.iloc[0:0], caption="")

    def figure(self) -> go.Figure:
        """The current area's figure of the last refresh."""
        if self.pane.figure is None:
            self.refresh()
        assert self.pane.figure is not None
        return self.pane.figure
