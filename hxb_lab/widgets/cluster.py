"""`wb.view.cluster()`: summary cards, a filterable nodes table, the pods of the selected node
or workspace with the labels and annotations of the selected pod, and the warning events
about them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab.widgets import _html
from hxb_lab.widgets._base import View
from hxb_lab.widgets._table import Table

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["ClusterView", "pod_details"]

NODE_COLUMNS = (
    "cluster", "name", "ready", "unschedulable", "pool", "gpu_product", "cpu_allocatable",
    "cpu_requested", "gpu_allocatable", "gpu_requested", "gpu_free", "pods", "taints", "age",
)  # fmt: skip
POD_COLUMNS = (
    "namespace", "name", "phase", "reason", "ready", "restarts", "node", "cpu_requests",
    "gpu_requests", "workload_kind", "workload_name", "last_termination_reason", "started",
)  # fmt: skip
EVENT_COLUMNS = ("time", "namespace", "reason", "object_kind", "object_name", "message", "count")
ALL = ""
#: Longest label or annotation value shown in full (a `last-applied-configuration` is kilobytes).
VALUE_WIDTH = 240


def _pairs(mapping: object) -> list[tuple[str, str]]:
    if not isinstance(mapping, dict):
        return []
    pairs = []
    for key, value in sorted(mapping.items()):
        text = str(value)
        if len(text) > VALUE_WIDTH:
            text = text[: VALUE_WIDTH - 1] + "…"
        pairs.append((str(key), text))
    return pairs


def pod_details(pod: pd.Series) -> str:
    """One pod's labels and annotations, side by side, every key and value escaped."""
    where = f"{pod.get('namespace') or ''}/{pod.get('name') or ''}"
    parts = "".join(
        f'<div><div class="hxb-muted">{what}</div>'
        f"{_html.key_values(_pairs(pod.get(what)), empty=f'no {what}')}</div>"
        for what in ("labels", "annotations")
    )
    return (
        f"<div><b>pod {_html.esc(where)}</b>"
        f'<div style="display:flex;gap:24px;flex-wrap:wrap">{parts}</div></div>'
    )


class ClusterView(View):
    """Nodes and pods of the profile's clusters; the pods table follows the selected node
    (click a row) or the chosen workspace, and a selected pod shows its labels and
    annotations below it. Auto-refresh can follow pod changes (a watch).
    """

    title = "Cluster"
    watch_kind = "pods"

    def _build(self) -> None:
        import ipywidgets as w
        import pandas as pd

        self._nodes = pd.DataFrame()
        self._pods = pd.DataFrame()
        self._events = pd.DataFrame()
        self._quiet = False
        self.cards = w.HTML()
        self.search = w.Text(
            placeholder="filter nodes: name, pool or GPU product", layout={"width": "300px"}
        )
        self.pool = w.Dropdown(options=[("all pools", ALL)], layout={"width": "160px"})
        self.readiness = w.Dropdown(
            options=[
                ("all nodes", ALL),
                ("ready", "ready"),
                ("not ready", "not ready"),
                ("cordoned", "cordoned"),
            ],
            layout={"width": "130px"},
        )
        self.workspace = w.Dropdown(
            options=[("all workspaces", ALL)], description="pods in", layout={"width": "240px"}
        )
        self.nodes_table = Table("nodes", NODE_COLUMNS)
        self.pods_table = Table("pods", POD_COLUMNS)
        self.pod_details = w.HTML()
        self.events_table = Table("warning events", EVENT_COLUMNS, page_length=5)
        for control in (self.search, self.pool, self.readiness):
            control.observe(lambda _c: self._filters_changed(), "value")
        self.workspace.observe(lambda _c: self._selection_changed(), "value")
        self.nodes_table.on_select(lambda _row: self._selection_changed())
        self.pods_table.on_select(lambda _row: self.run(self._show_pod, what="selecting"))
        self.body.children = [
            self.cards,
            w.HBox([self.search, self.pool, self.readiness]),
            self.nodes_table.widget,
            self.workspace,
            self.pods_table.widget,
            self.pod_details,
            self.events_table.widget,
        ]

    # ------------------------------------------------------------------ reading
    def _load(self) -> None:
        start, _end = self.range()
        cluster = self._reads.cluster
        self._nodes = cluster.nodes()
        self._pods = cluster.pods()
        self._events = cluster.events(since=start, warnings_only=True)
        self._quiet = True
        try:
            self._set_options(self.pool, "all pools", self._nodes["pool"])
            self._set_options(self.workspace, "all workspaces", self._pods["workspace"])
        finally:
            self._quiet = False
        self.cards.value = _html.cards(self._summary())
        self._show_nodes()

    @staticmethod
    def _set_options(control: Any, everything: str, values: pd.Series) -> None:
        names = sorted({str(v) for v in values.dropna() if str(v)})
        current = control.value
        control.options = [(everything, ALL)] + [(n, n) for n in names]
        control.value = current if current in names else ALL

    def _summary(self) -> list[tuple[str, object, str]]:
        nodes, pods = self._nodes, self._pods
        ready = int(nodes["ready"].sum())
        cordoned = int(nodes["unschedulable"].sum())
        phases = pods["phase"].fillna("Unknown").value_counts()
        order = ["Running", "Pending", "Succeeded", "Failed", "Unknown"]
        by_phase = " · ".join(f"{p} {int(phases[p])}" for p in order if p in phases)
        crashing = int((pods["reason"] == "CrashLoopBackOff").sum())
        return [
            ("nodes ready", f"{ready}/{len(nodes)}", f"{cordoned} cordoned"),
            ("pods", len(pods), by_phase + (f" · {crashing} crash-looping" if crashing else "")),
            (
                "GPUs free",
                f"{int(nodes['gpu_free'].sum())}/{int(nodes['gpu_allocatable'].sum())}",
                f"{int(nodes['gpu_requested'].sum())} requested",
            ),
            ("warnings", len(self._events), self.time.describe()),
        ]

    # ------------------------------------------------------------------ filtering
    def filtered_nodes(self) -> pd.DataFrame:
        """The nodes that pass the search text, pool and readiness filters."""
        nodes = self._nodes
        if nodes.empty:
            return nodes
        keep = nodes["name"].notna()
        text = self.search.value.strip().lower()
        if text:
            haystack = (
                nodes["name"].astype(str)
                + " "
                + nodes["pool"].fillna("").astype(str)
                + " "
                + nodes["gpu_product"].fillna("").astype(str)
            ).str.lower()
            keep &= haystack.str.contains(text, regex=False)
        if self.pool.value:
            keep &= nodes["pool"] == self.pool.value
        state = self.readiness.value
        if state == "ready":
            keep &= nodes["ready"].astype(bool)
        elif state == "not ready":
            keep &= ~nodes["ready"].astype(bool)
        elif state == "cordoned":
            keep &= nodes["unschedulable"].astype(bool)
        return nodes[keep]

    def _filters_changed(self) -> None:
        if not self._quiet:
            self.run(self._show_nodes, what="filtering")

    def _show_nodes(self) -> None:
        shown = self.filtered_nodes()
        self.nodes_table.show(shown, caption=f"nodes: {len(shown)} of {len(self._nodes)}")
        self._show_pods()

    # ------------------------------------------------------------------ following
    def selected_node(self) -> str | None:
        row = self.nodes_table.selected
        return None if row is None else str(row["name"])

    def _selection_changed(self) -> None:
        if not self._quiet:
            self.run(self._show_pods, what="selecting")

    def selected_pods(self) -> pd.DataFrame:
        """The pods of the selected node (if any) in the chosen workspace (if any)."""
        pods = self._pods
        if pods.empty:
            return pods
        node = self.selected_node()
        if node is not None:
            pods = pods[pods["node"] == node]
        if self.workspace.value:
            pods = pods[pods["workspace"] == self.workspace.value]
        return pods

    def _show_pods(self) -> None:
        pods = self.selected_pods()
        node, workspace = self.selected_node(), self.workspace.value
        where = " and ".join(
            part
            for part in (
                f"on node {node}" if node else "",
                f"in workspace {workspace}" if workspace else "",
            )
            if part
        )
        before = self.selected_pod()
        self.pods_table.show(pods, caption=f"pods {where or 'in all namespaces'}: {len(pods)}")
        if before is not None:  # a refresh keeps the pod shown while it is still listed
            self._reselect_pod(before)
        events = self._events
        if not events.empty and (node or workspace):
            about = set(pods["name"].astype(str)) | ({node} if node else set())
            events = events[events["object_name"].isin(about)]
        self.events_table.show(
            events, caption=f"warning events, {self.time.describe()}: {len(events)}"
        )

    def selected_pod(self) -> pd.Series | None:
        """The pod row selected in the pods table (every column of `wb.cluster.pods()`)."""
        return self.pods_table.selected

    def _reselect_pod(self, pod: pd.Series) -> None:
        shown = self.pods_table.frame
        same = (shown["namespace"] == pod["namespace"]) & (shown["name"] == pod["name"])
        if "cluster" in shown.columns:
            same &= shown["cluster"] == pod["cluster"]
        hits = shown.index[same.fillna(False)]
        if len(hits):
            self.pods_table.select(int(hits[0]))

    def _show_pod(self) -> None:
        row = self.selected_pod()
        self.pod_details.value = "" if row is None else pod_details(row)

    def figure(self) -> go.Figure:
        """Requested against allocatable CPU and GPUs of the nodes passing the filters."""
        from hxb_lab import viz

        return viz.node_capacity(self.filtered_nodes())
