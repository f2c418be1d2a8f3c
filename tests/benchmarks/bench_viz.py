"""Figures and views: `timeseries()` on 10 million points (goal: built and serialised in
< 200 ms, payload < 2 MB) against a plain plotly figure of the same data, and a metrics
view refresh of ~50 series over 24 h at 1-minute steps on the demo (goal: < 1 s) against
the same query drawn into a plain plotly `FigureWidget`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from tests.benchmarks._harness import Result, median_time

POINTS = 10_000_000


def _series(n: int) -> pd.DataFrame:
    times = pd.date_range("2026-11-01", periods=n, freq="100ms", tz="UTC").as_unit("ns")
    values = np.random.default_rng(7).normal(size=n).cumsum()
    return pd.DataFrame({"timestamp": times, "value": values})


def _plain_plotly(frame: pd.DataFrame) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scattergl(x=frame["timestamp"], y=frame["value"], mode="lines"))
    payload: str = fig.to_json()
    return payload


def timeseries_results() -> Iterator[Result]:
    from hxb_lab import viz

    frame = _series(POINTS)
    ours_payload = viz.timeseries(frame).to_json()
    ours = median_time(lambda: viz.timeseries(frame).to_json(), repeat=7)
    started = time.perf_counter()
    peer_payload = _plain_plotly(frame)
    peer = time.perf_counter() - started
    yield Result(
        "timeseries() 10 M points: build + to_json",
        ours,
        peer,
        "plain plotly figure",
        goal="< 0.2 s",
    )
    yield Result(
        "timeseries() 10 M points: payload",
        len(ours_payload) / 1e6,
        len(peer_payload) / 1e6,
        "plain plotly figure",
        unit="MB",
        goal="< 2 MB",
    )


def view_refresh_results() -> Iterator[Result]:
    import plotly.graph_objects as go

    import hxb_lab as hx
    from hxb_lab import demo

    home = tempfile.mkdtemp(prefix="hxb-bench-viz-")
    os.environ["HXB_LAB_HOME"] = home
    demo.seed("small")  # 52 GPUs, one DCGM series each; metrics cover the last 24 h
    wb = hx.connect("demo")
    query = {"by": ["Hostname", "gpu"], "agg": "avg", "step": "1m"}
    view = wb.view.metrics("DCGM_FI_DEV_GPU_UTIL", last="24h", **query)
    if view.error_message:
        raise RuntimeError(view.error_message)
    series = len(view.chart.live.data)
    assert view.frame is not None
    points = len(view.frame)
    per_series = view.frame.groupby(query["by"]).size().min()
    if series < 50 or per_series < 1440:  # 24 h at 1-minute steps: 1,440 (+1) points
        raise RuntimeError(f"the demo gave {series} series of {per_series} points, not 50 x 1,440")
    ours = median_time(view.refresh, repeat=5)
    start, end = view.range()
    plain = go.FigureWidget()

    def peer() -> None:
        frame = wb.metrics.query("DCGM_FI_DEV_GPU_UTIL", start=start, end=end, **query)
        traces = [
            go.Scatter(x=part["timestamp"], y=part["value"], name=f"{host} {gpu}", mode="lines")
            for (host, gpu), part in frame.groupby(["Hostname", "gpu"])
        ]
        with plain.batch_update():
            plain.data = []
            plain.add_traces(traces)

    peer_time = median_time(peer, repeat=5)
    yield Result(
        f"view 24h@1m: {series} series x {per_series:,} = {points:,} pts",
        ours,
        peer_time,
        "query + plain FigureWidget",
        goal="< 1 s",
    )


def run() -> Iterator[Result]:
    yield from timeseries_results()
    yield from view_refresh_results()
