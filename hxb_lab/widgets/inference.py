"""`wb.view.inference()`: the deployments; the selected one's status, traffic split, latency,
throughput and GPU charts, and the rollout actions with their diff shown before apply.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from hxb_lab.errors import ParameterError
from hxb_lab.widgets import _html
from hxb_lab.widgets._base import View
from hxb_lab.widgets._plot import FigurePane
from hxb_lab.widgets._table import Table
from hxb_lab.words import plural

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["ACTIONS", "InferenceView", "diff_of", "for_deployment", "missing"]

DEPLOYMENT_COLUMNS = (
    "namespace", "name", "kind", "ready", "reason", "model_name", "model_version", "replicas",
    "gpus_per_replica", "gpu_product", "canary_percent", "latest_ready_revision",
)  # fmt: skip
DETAIL_KEYS = (
    "cluster", "namespace", "workspace", "kind", "ready", "reason", "message", "conditions",
    "url", "runtime", "model_format", "storage_uri", "model_name", "model_version",
    "previous_model_version", "min_replicas", "max_replicas", "replicas", "ready_replicas",
    "gpus_per_replica", "gpu_product", "canary_percent", "latest_ready_revision",
    "previous_revision", "created",
)  # fmt: skip
#: Labels that name the deployment in Triton and KServe metrics, in order of preference.
DEPLOYMENT_LABELS = ("model", "deployment", "inference_service", "isvc", "service")
ACTIONS = ("scale", "canary", "promote", "rollback", "promote_from_registry")
#: The health frame's metrics_source, as the runtimes spell themselves.
RUNTIME_NAMES = {
    "triton": "Triton", "mlserver": "MLServer", "torchserve": "TorchServe", "kserve": "KServe",
}  # fmt: skip


def for_deployment(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    """The rows of a metrics frame that belong to a deployment: its model label (Triton's
    ``model``) is one of `names` (the deployment's name, its registered model's name).
    """
    label = next((c for c in DEPLOYMENT_LABELS if c in frame.columns), None)
    if label is None:
        return frame.iloc[0:0]
    return frame[frame[label].astype(str).isin([n for n in names if n])]


def missing(value: Any) -> bool:
    """None, NaN, NA or NaT (a frame's empty cell, whatever its dtype)."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or dict cell
        return False


def diff_of(change: Any) -> str:
    """What an action's `Change` would do, in words: its summary line, then its diff."""
    summary = getattr(change, "summary", "")
    diff = str(getattr(change, "diff", change))
    return f"{summary}\n\n{diff}" if summary else diff


class InferenceView(View):
    """Inference deployments with their health, and guarded rollout actions."""

    title = "Inference"

    def _build(self) -> None:
        import ipywidgets as w
        import pandas as pd

        self.deployments_table = Table("deployments", DEPLOYMENT_COLUMNS)
        self.deployments_table.on_select(lambda _r: self.run(self._show_deployment))
        self.health_cards = w.HTML()
        self.details = w.HTML()
        self.traffic = w.HTML()
        self.latency = FigurePane()
        self.throughput = FigurePane()
        self.gpu = FigurePane()
        self.action = w.Dropdown(options=ACTIONS, description="action")
        self.min_replicas = w.IntText(value=1, description="min", layout={"width": "140px"})
        self.max_replicas = w.IntText(value=2, description="max", layout={"width": "140px"})
        self.storage_uri = w.Text(description="storage", placeholder="s3://models/... (canary)")
        self.percent = w.IntSlider(
            value=10, min=1, max=99, description="canary %", style={"description_width": "initial"}
        )
        self.model = w.Text(description="model", placeholder="registered model")
        self.alias = w.Text(value="champion", description="alias")
        self.preview_button = w.Button(description="Preview", icon="eye", button_style="info")
        self.apply_button = w.Button(
            description="Apply", icon="check", button_style="danger", disabled=True
        )
        self.diff = w.HTML()
        self._previewed: tuple[str, tuple[tuple[str, Any], ...]] | None = None
        self._health = pd.DataFrame()
        self._deployments = pd.DataFrame()
        self.preview_button.on_click(lambda _b: self.run(self._preview, what="dry run"))
        self.apply_button.on_click(lambda _b: self.run(self._apply, what="applying"))
        for control in (self.action, self.min_replicas, self.max_replicas, self.storage_uri,
                        self.percent, self.model, self.alias):  # fmt: skip
            control.observe(lambda _c: self._inputs_changed(), "value")
        self.inputs = w.HBox()
        self.selected_box = w.VBox(
            [
                self.health_cards,
                w.HBox([self.details, self.traffic]),
                self.latency.widget,
                self.throughput.widget,
                self.gpu.widget,
                w.HBox([self.action, self.inputs]),
                w.HBox([self.preview_button, self.apply_button]),
                self.diff,
            ]
        )
        self._inputs_changed()
        self.body.children = [self.deployments_table.widget, self.selected_box]

    # ------------------------------------------------------------------ reading
    def _load(self) -> None:
        start, end = self.range()
        before = self.selected_name()
        inference = self._reads.inference
        self._deployments = inference.deployments()
        self._health = inference.health(start=start, end=end)
        self.deployments_table.show(
            self._deployments, caption=f"deployments: {len(self._deployments)}"
        )
        if before is not None:
            self.deployments_table.select_where("name", before)
        self._show_deployment()

    def selected(self) -> pd.Series | None:
        return self.deployments_table.selected

    def selected_name(self) -> str | None:
        row = self.selected()
        return None if row is None else str(row["name"])

    def _show_deployment(self) -> None:
        from hxb_lab import viz

        row = self.selected()
        self._forget_preview()
        if row is None:
            self.selected_box.layout.display = "none"
            return
        self.selected_box.layout.display = ""
        name, namespace = str(row["name"]), str(row["namespace"])
        model = (
            str(row["model_name"])
            if "model_name" in row.index and not missing(row["model_name"])
            else ""
        )
        self.details.value = _html.key_values(
            (k, row[k]) for k in DETAIL_KEYS if k in row.index and not missing(row[k])
        )
        self.traffic.value = self._traffic_html(row)
        self.health_cards.value = _html.cards(self._health_cards(namespace, name))
        start, end = self.range()
        metrics, span = self._reads.metrics, self.time.describe()
        latency = for_deployment(metrics.inference_latency(start=start, end=end), name, model)
        self.latency.show(viz.timeseries(latency, title=f"{name}: latency, {span}", unit=" ms"))
        rate = for_deployment(metrics.inference_throughput(start=start, end=end), name, model)
        self.throughput.show(viz.timeseries(rate, title=f"{name}: requests/s, {span}"))
        pods = set(self._reads.inference.pods(name, namespace=namespace)["name"].astype(str))
        gpu = metrics.gpu_utilization(start=start, end=end)
        gpu = gpu[gpu["pod"].isin(pods)] if "pod" in gpu.columns else gpu.iloc[0:0]
        # One line per GPU, named by node and index: the pod's long name and the GPU's UUID
        # in each name would give the legend the chart's width.
        per_gpu = [c for c in ("Hostname", "gpu") if c in gpu.columns] or None
        self.gpu.show(
            viz.timeseries(gpu, series=per_gpu, title=f"{name}: GPU utilisation, {span}", unit=" %")
        )

    def _health_cards(self, namespace: str, name: str) -> list[tuple[str, object, str]]:
        health = self._health
        if health.empty or "name" not in health.columns:
            return [("health", "n/a", "no health figures in this range")]
        rows = health[health["name"] == name]
        if "namespace" in rows.columns:
            rows = rows[rows["namespace"] == namespace]
        if rows.empty:
            return [("health", "n/a", "no traffic in this range")]
        h = rows.iloc[0]

        def fmt(key: str, pattern: str) -> str:
            value = h.get(key)
            return "n/a" if missing(value) else pattern.format(value)

        source = h.get("metrics_source")
        source = "" if missing(source) else RUNTIME_NAMES.get(str(source), str(source))
        said = f"from {source} metrics" if source else "no runtime metrics"
        return [
            ("requests/s", fmt("request_rate", "{:,.2f}"), self.time.describe()),
            ("error rate", fmt("error_rate", "{:.2%}"), said),
            ("error rate (callers)", fmt("caller_error_rate", "{:.2%}"), self._callers(h)),
            ("p50 / p95", f"{fmt('p50_ms', '{:,.0f}')} / {fmt('p95_ms', '{:,.0f}')} ms", said),
            ("GPU busy", fmt("gpu_utilization", "{:,.0f} %"), self._memory(h)),
        ]

    @staticmethod
    def _callers(health: pd.Series) -> str:
        """What the callers' card rests on: traced calls to the deployment (including those
        that never reached it, which its runtime cannot count) and their p95."""
        calls = health.get("caller_calls")
        if missing(calls) or not calls:
            return "no traced calls to it"
        p95 = health.get("caller_p95_ms")
        slowest = "" if missing(p95) else f", p95 {p95:,.0f} ms"
        return f"from traces: {plural(calls, 'call')}{slowest}"

    @staticmethod
    def _memory(health: pd.Series) -> str:
        used = health.get("gpu_memory_used")
        if missing(used):
            return "no GPU memory figures"
        share = health.get("gpu_memory_share")
        of = "" if missing(share) else f" ({share:.0%} of it)"
        return f"{used / 2**30:,.1f} GiB GPU memory{of}"

    @staticmethod
    def _traffic_html(row: pd.Series) -> str:
        canary = row.get("canary_percent")
        canary = 0.0 if missing(canary) else float(canary)
        latest = _html.esc(row.get("latest_ready_revision") or "latest")
        stable = 100.0 - canary
        bar = (
            f'<div style="display:flex;width:260px;height:18px;border-radius:3px;overflow:hidden">'
            f'<div style="width:{stable}%;background:#0072b2"></div>'
            f'<div style="width:{canary}%;background:#e69f00"></div></div>'
        )
        legend = f"stable {stable:.0f} %" + (
            f" · canary {canary:.0f} % ({latest})" if canary else ""
        )
        return f"<b>traffic split</b>{bar}<span>{_html.esc(legend)}</span>"

    # ------------------------------------------------------------------ actions
    def _inputs_changed(self) -> None:
        fields = {
            "scale": [self.min_replicas, self.max_replicas],
            "canary": [self.storage_uri, self.percent],
            "promote": [],
            "rollback": [],
            "promote_from_registry": [self.model, self.alias],
        }
        self.inputs.children = fields[self.action.value]
        self._forget_preview()

    def _forget_preview(self) -> None:
        self._previewed = None
        self.apply_button.disabled = True
        self.diff.value = ""

    def action_arguments(self) -> dict[str, Any]:
        """The keyword arguments of the chosen action, from the inputs."""
        action = self.action.value
        if action == "scale":
            return {
                "min_replicas": self.min_replicas.value,
                "max_replicas": self.max_replicas.value,
            }
        if action == "canary":
            if not self.storage_uri.value.strip():
                raise ParameterError(["storage: give the canary's storage URI"], subject="canary")
            return {"storage_uri": self.storage_uri.value.strip(), "percent": self.percent.value}
        if action == "promote_from_registry":
            if not self.model.value.strip():
                raise ParameterError(["model: give a registered model name"], subject="promotion")
            return {"model": self.model.value.strip(), "alias": self.alias.value.strip()}
        return {}

    def _call(self, apply: bool) -> Any:
        row = self.selected()
        if row is None:
            raise ParameterError(["select a deployment first"], subject="action")
        method = getattr(self._reads.inference, self.action.value)
        kwargs = self.action_arguments()
        if "namespace" in inspect.signature(method).parameters:
            kwargs["namespace"] = row["namespace"]
        return method(str(row["name"]), apply=apply, **kwargs)

    def _key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return self.action.value, tuple(sorted(self.action_arguments().items()))

    def _preview(self) -> None:
        self._forget_preview()
        change = self._call(apply=False)
        self.diff.value = "<b>dry run, nothing changed:</b>" + _html.preformatted(diff_of(change))
        self._previewed = self._key()
        self.apply_button.disabled = False

    def _apply(self) -> None:
        if self._previewed is None or self._previewed != self._key():
            raise ParameterError(
                ["preview the change first (the inputs changed)"], subject="action"
            )
        change = self._call(apply=True)
        self._previewed = None
        self.apply_button.disabled = True
        self._load()
        self.diff.value = "<b>applied:</b>" + _html.preformatted(diff_of(change))

    def figure(self) -> go.Figure:
        """The selected deployment's latency, else the p95 latency of every deployment."""
        from hxb_lab import viz

        if self.selected() is not None and self.latency.figure is not None:
            return self.latency.figure
        start, end = self.range()
        return viz.timeseries(
            self._reads.metrics.inference_latency(start=start, end=end),
            title=f"inference latency, {self.time.describe()}",
            unit=" ms",
        )
