"""`wb.metrics`: one structured metric query, two backends, the same tidy frame.

`query()` runs on Prometheus (PromQL over its HTTP API) when the profile has one, else on
the ``otel_metrics_*`` tables of ClickHouse (SQL); ``source=`` picks one explicitly.
Both return ``timestamp, value`` and one column per label, evaluated at the same times
(see `hxb_lab.telemetry._metric_query`). `promql()` runs raw PromQL. The shortcuts use
the standard metric names of the DCGM exporter and of Triton.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hxb_lab.clients.prometheus import open_prometheus
from hxb_lab.errors import ParameterError
from hxb_lab.telemetry import _metrics_sql
from hxb_lab.telemetry._facade import Facade
from hxb_lab.telemetry._metric_query import auto_step, check_step, plan
from hxb_lab.telemetry._promql import to_promql
from hxb_lab.telemetry._sql import store
from hxb_lab.telemetry.links import attach, grafana_explore
from hxb_lab.times import time_range

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.prometheus import Prometheus

__all__ = ["GPU_LABELS", "Metrics"]

SOURCES = ("prometheus", "clickhouse")
#: Labels of a DCGM exporter series that identify one GPU and what runs on it.
GPU_LABELS = ("Hostname", "gpu", "UUID", "modelName", "namespace", "pod")
MIB = 1024 * 1024


class Metrics(Facade):
    """Metrics from Prometheus or the OTel metric tables, as tidy frames."""

    def source(self, source: str | None = None) -> str:
        """The backend a query runs on: `source`, else Prometheus when configured, else
        ClickHouse."""
        if source is None:
            return "prometheus" if self._ctx.profile.prometheus else "clickhouse"
        if not isinstance(source, str) or source not in SOURCES:
            raise ParameterError([f"source: {source!r} is not one of {', '.join(SOURCES)}"])
        return source

    def _prometheus(self) -> Prometheus:

        client: Prometheus = self._ctx.clients.get("prometheus", open_prometheus)
        return client

    def query(
        self,
        metric: str,
        where: Mapping[str, str | Sequence[str]] | None = None,
        by: str | Sequence[str] | None = None,
        agg: str = "avg",
        rate: bool = False,
        step: Any = None,
        start: Any = None,
        end: Any = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """One metric over time, filtered, grouped and aggregated, as a tidy frame.

        `where` maps labels to a value or a list of values. `by` lists the labels to keep
        (``None``: every series with all its labels; ``[]``: one series in all). `agg` is
        ``avg``, ``sum``, ``min``, ``max``, ``count`` across series, or a quantile like
        ``"p95"`` of a histogram. `rate` turns a counter into a per-second rate. `step`
        (seconds or ``"1m"``) defaults to about 300 points; each point looks back over
        ``max(step, 2m)``. Columns: timestamp, value, one column per label.
        An unknown metric gives an empty frame. With a profile's ``grafana`` section
        naming a ``prometheus`` datasource, ``frame.attrs["links"]["grafana"]`` opens the
        same query in Grafana Explore.
        """

        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        q = plan(
            metric,
            where=where,
            by=by,
            agg=agg,
            rate=rate,
            step=step,
            start_ns=start_ns,
            end_ns=end_ns,
        )
        expr = to_promql(q)
        if self.source(source) == "prometheus":
            frame = self._prometheus().range_frame(expr, q.start_s, q.end_s, q.step_s)
            return self._linked(_ordered(frame, q.by), expr, start_ns, end_ns)

        return self._linked(_metrics_sql.run(store(self._ctx), q), expr, start_ns, end_ns)

    def _linked(self, frame: pd.DataFrame, expr: str, start_ns: int, end_ns: int) -> pd.DataFrame:
        """`frame` with a link to the same query in Grafana Explore, on the profile's
        Prometheus datasource (``frame.attrs["links"]``)."""
        query = {"expr": expr, "range": True}
        grafana = grafana_explore(self._ctx.profile.grafana, "prometheus", query, start_ns, end_ns)
        return attach(frame, grafana=grafana)

    def promql(
        self, expr: str, start: Any = None, end: Any = None, step: Any = None
    ) -> pd.DataFrame:
        """Raw PromQL over a range on the profile's Prometheus.

        Columns: timestamp, value, one column per label. Invalid PromQL raises
        `QueryError` with Prometheus's own message.
        """

        if not isinstance(expr, str) or not expr.strip():
            raise ParameterError([f"expr: expected a PromQL expression, got {expr!r}"])
        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        first, last = start_ns / 1e9, end_ns / 1e9
        seconds = auto_step(first, last) if step is None else check_step(step, first, last)
        frame = self._prometheus().range_frame(expr, first, last, seconds)
        return self._linked(frame, expr, start_ns, end_ns)

    def gpu_utilization(
        self, node: str | Sequence[str] | None = None, start: Any = None, end: Any = None,
        step: Any = None, source: str | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """GPU utilisation in percent per GPU (DCGM ``DCGM_FI_DEV_GPU_UTIL``).

        Columns: timestamp, value (0-100), Hostname, gpu, UUID, modelName, namespace, pod
        (the last two empty for an idle GPU).
        """
        where = {"Hostname": node} if node is not None else None
        return self.query(
            "DCGM_FI_DEV_GPU_UTIL", where, GPU_LABELS, "avg", False, step, start, end, source
        )

    def gpu_memory(
        self, node: str | Sequence[str] | None = None, start: Any = None, end: Any = None,
        step: Any = None, source: str | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """GPU framebuffer memory in use per GPU, in bytes (DCGM ``DCGM_FI_DEV_FB_USED``).

        Columns: timestamp, value (bytes), Hostname, gpu, UUID, modelName, namespace, pod.
        """
        where = {"Hostname": node} if node is not None else None
        frame = self.query(
            "DCGM_FI_DEV_FB_USED", where, GPU_LABELS, "avg", False, step, start, end, source
        )
        return frame.assign(value=frame["value"] * MIB)

    def inference_latency(
        self, model: str | Sequence[str] | None = None, quantile: float = 0.95,
        by: Sequence[str] = ("model", "version"), start: Any = None, end: Any = None,
        step: Any = None, source: str | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Request latency quantile in ms per model and version, from Triton's histogram
        ``nv_inference_first_response_histogram_ms``.

        Columns: timestamp, value (ms), and the `by` labels (model, version).
        """
        if (
            isinstance(quantile, bool)
            or not isinstance(quantile, int | float)
            or not 0 < quantile < 1
        ):
            raise ParameterError([f"quantile: expected a number between 0 and 1, got {quantile!r}"])
        where = {"model": model} if model is not None else None
        agg = f"p{quantile * 100:g}"
        metric = "nv_inference_first_response_histogram_ms"
        return self.query(metric, where, list(by), agg, False, step, start, end, source)

    def inference_throughput(
        self, model: str | Sequence[str] | None = None, by: Sequence[str] = ("model", "version"),
        start: Any = None, end: Any = None, step: Any = None, source: str | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Successful inference requests per second per model and version (Triton
        ``nv_inference_request_success``).

        Columns: timestamp, value (requests/s), and the `by` labels (model, version).
        """
        where = {"model": model} if model is not None else None
        metric = "nv_inference_request_success"
        return self.query(metric, where, list(by), "sum", True, step, start, end, source)


def _ordered(frame: pd.DataFrame, by: tuple[str, ...] | None) -> pd.DataFrame:
    """Prometheus's frame as the SQL backend gives it: the `by` labels as columns (present
    even when empty), no NaN points (a quantile of an empty histogram window), sorted."""
    import pandas as pd

    for name in by or ():
        if name not in frame.columns:
            frame[name] = pd.Series([""] * len(frame), dtype="str")
    labels = (
        list(by)
        if by is not None
        else [c for c in frame.columns if c not in ("timestamp", "value")]
    )
    frame = frame.loc[~frame["value"].isna(), ["timestamp", "value", *labels]]
    return frame.sort_values([*labels, "timestamp"], kind="stable").reset_index(drop=True)
