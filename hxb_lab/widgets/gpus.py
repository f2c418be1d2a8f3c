"""`wb.view.gpus()`: the fleet heatmap, who holds the GPUs, and who holds them idle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hxb_lab.cluster import IDLE_BELOW_PCT
from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["GpusView", "by_workload", "idle_holders"]

IDLE_COLUMNS = (
    "namespace", "pod", "node", "gpu_product", "gpus_allocated", "utilization_pct", "peak_pct",
    "samples",
)  # fmt: skip


def idle_holders(pods: pd.DataFrame, utilization: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Pods holding GPUs whose GPUs averaged under `threshold` % busy in the range (DCGM
    samples carry the pod's namespace and name), or reported no samples at all.

    `pods` is ``wb.cluster.gpu_allocation(by="pod")``, `utilization` a DCGM frame.
    Columns: namespace, pod, node, gpu_product, gpus_allocated, utilization_pct, peak_pct,
    samples. Idlest first.
    """
    import pandas as pd

    held = pods[pods["gpus_allocated"] > 0]
    if "phase" in held.columns:
        held = held[held["phase"] == "Running"]
    held = held[["namespace", "pod", "node", "gpu_product", "gpus_allocated"]]
    if {"namespace", "pod"} <= set(utilization.columns) and not utilization.empty:
        busy = (
            utilization[utilization["pod"].fillna("") != ""]
            .groupby(["namespace", "pod"])["value"]
            .agg(utilization_pct="mean", peak_pct="max", samples="count")
            .reset_index()
        )
    else:
        busy = pd.DataFrame(columns=["namespace", "pod", "utilization_pct", "peak_pct", "samples"])
    joined = held.merge(busy, on=["namespace", "pod"], how="left")
    joined["samples"] = joined["samples"].fillna(0).astype("int64")
    idle = joined[(joined["utilization_pct"] < threshold) | (joined["samples"] == 0)]
    return idle.sort_values(
        ["utilization_pct", "gpus_allocated"], ascending=[True, False], na_position="first"
    ).reset_index(drop=True)


def by_workload(pods: pd.DataFrame) -> pd.DataFrame:
    """``gpu_allocation(by="pod")`` summed per workload: the same frame as ``by="workload"``
    for the treemap, without reading the cluster twice.
    """
    keys = [c for c in ("workspace", "namespace", "workload_name", "gpu_product") if c in pods]
    if pods.empty or not keys:
        return pods
    summed = pods.groupby(keys, dropna=False, sort=False)["gpus_allocated"].sum()
    return summed.reset_index()


class GpusView(View):
    """The fleet at a glance: utilisation or memory per GPU, allocation by workspace and
    workload with free GPUs per product, and GPUs allocated but idle per DCGM.
    """

    title = "GPUs"

    def _build(self) -> None:
        import ipywidgets as w
        import pandas as pd

        self.kind = w.ToggleButtons(
            options=[("utilisation", "utilization"), ("memory", "memory")], value="utilization"
        )
        self.threshold = w.IntSlider(
            value=IDLE_BELOW_PCT,
            min=1,
            max=50,
            step=1,
            description="idle below %",
            continuous_update=False,
            style={"description_width": "initial"},  # the whole label, never "idle below…"
        )
        self.heatmap = FigurePane()
        self.allocation = FigurePane()
        self.idle_table = Table("allocated but idle", IDLE_COLUMNS)
        self.idle_summary = w.HTML()
        self._pods = pd.DataFrame()
        self._utilization = pd.DataFrame()
        self.kind.observe(lambda _c: self.refresh(), "value")
        self.threshold.observe(lambda _c: self.run(self._show_idle, what="filtering"), "value")
        self.body.children = [
            self.kind,
            self.heatmap.widget,
            self.allocation.widget,
            w.HBox([self.threshold, self.idle_summary]),
            self.idle_table.widget,
        ]

    def _load(self) -> None:
        viz = self.viz
        start, end = self.range()
        metrics, cluster = self._reads.metrics, self._reads.cluster
        self._utilization = metrics.gpu_utilization(start=start, end=end)
        shown = (
            self._utilization
            if self.kind.value == "utilization"
            else metrics.gpu_memory(start=start, end=end)
        )
        name = "GPU utilisation (%)" if self.kind.value == "utilization" else "GPU memory (GiB)"
        title = f"{name}, mean per GPU, {self.time.describe()}"
        self.heatmap.show(viz.gpu_heatmap(shown, kind=self.kind.value, title=title))
        self._pods = cluster.gpu_allocation(by="pod")
        self.allocation.show(viz.gpu_allocation(by_workload(self._pods), cluster.gpus()))
        self._show_idle()

    def idle(self) -> pd.DataFrame:
        """The GPU holders under the idle threshold in the current range."""
        return idle_holders(self._pods, self._utilization, float(self.threshold.value))

    def _show_idle(self) -> None:
        idle = self.idle()
        gpus = int(idle["gpus_allocated"].sum()) if not idle.empty else 0
        holders = plural(len(idle), "pod")
        verb = "holds" if len(idle) == 1 else "hold"
        self.idle_summary.value = (
            f"<b>{holders}</b> {verb} <b>{plural(gpus, 'GPU')}</b> while under "
            f"{int(self.threshold.value)} % busy"
        )
        self.idle_table.show(idle, caption=f"allocated but idle: {holders}, {plural(gpus, 'GPU')}")

    def figure(self) -> go.Figure:
        """The fleet heatmap of the current range."""
        return self.heatmap.figure or self.viz.gpu_heatmap(self._utilization)
