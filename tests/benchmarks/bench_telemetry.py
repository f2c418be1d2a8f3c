"""Telemetry on 10 million generated spans (the ``large`` demo size), against its peers.

- generating and writing the large telemetry: goal < 120 s (the peer is that budget);
- `wb.traces.services()` over all spans, warm: goal < 0.5 s and >= 5x faster than pandas
  ``groupby().quantile()`` over the same spans already in memory (load not counted);
- `wb.traces.get(trace_id)`, median over 20 traces: goal < 50 ms and >= 10x faster than the
  same query without the trace-id lookup table (no time bounds on the spans read);
- parsing a Prometheus range response of 1 M samples into the tidy frame: goal >= 3x
  faster than a plain per-sample Python loop.

The generated directory is kept in ``$HXB_LAB_BENCH_DIR`` (default a temporary directory)
and reused when it already holds the large size (``HXB_LAB_BENCH_REUSE=1``).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks._harness import Result, median_time

SPANS = 10_000_000
SAMPLES = 1_000_000


def _directory() -> tuple[Path, float | None]:
    """The large telemetry directory and how long generating it took (None: reused)."""
    from hxb_lab.demo.telemetry.generate import generate

    root = Path(os.environ.get("HXB_LAB_BENCH_DIR") or tempfile.mkdtemp(prefix="hxb-bench-"))
    directory = root / "telemetry-large"
    summary = directory / "summary.json"
    reuse = os.environ.get("HXB_LAB_BENCH_REUSE") and summary.exists()
    if reuse and json.loads(summary.read_text()).get("size") == "large":
        return directory, None
    started = time.perf_counter()
    generate(directory, size="large", now=datetime.now(UTC).replace(second=0, microsecond=0))
    return directory, time.perf_counter() - started


def _pandas_services(frame: Any) -> Any:
    """The peer: the same figures with pandas over spans already in memory."""
    spans = frame[frame["SpanKind"].isin(["Server", "Consumer"])]
    groups = spans.groupby("ServiceName", observed=True)
    figures = groups.agg(calls=("Duration", "size"), errors=("error", "sum"))
    quantiles = groups["Duration"].quantile([0.5, 0.95, 0.99]).unstack() / 1e6
    return figures.join(quantiles)


def _pandas_time(directory: Path) -> tuple[float, int]:
    """Median time of the pandas peer over every span, loaded beforehand (not timed)."""
    import pandas as pd

    columns = ["ServiceName", "SpanKind", "Duration", "StatusCode"]
    spans = pd.read_parquet(directory / "traces", columns=columns)
    spans["error"] = spans["StatusCode"] == "Error"
    return median_time(lambda: _pandas_services(spans), repeat=3), len(spans)


def _without_lookup(wb: Any, trace_id: str) -> Any:
    """The peer: `get` reading the trace's spans with no time bounds from the lookup table."""
    from hxb_lab.telemetry import _sql
    from hxb_lab.telemetry.traces import SPANS, columns_of, waterfall

    sql = f"""
        SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, ServiceName AS service,
            SpanName AS operation, {_sql.KIND_NAME} AS kind,
            toUnixTimestamp64Nano(Timestamp) AS start_ns, toInt64(Duration) AS duration_ns,
            {_sql.STATUS_NAME} AS status, StatusMessage AS status_message,
            SpanAttributes AS attributes, ResourceAttributes AS resource
        FROM ${{traces}} WHERE TraceId = {{id:String}}"""
    raw = columns_of(_sql.store(wb).frame(sql, {"id": trace_id}))
    return _sql.typed_lists(waterfall(raw), SPANS)


def _response() -> bytes:
    """A range response of `SAMPLES` samples as Prometheus writes it (100 GPU series)."""
    import numpy as np
    import orjson

    rng = np.random.default_rng(1)
    points = SAMPLES // 100
    start = 1_700_000_000
    result = []
    for s in range(100):
        values = [[start + 15 * i, f"{v:.4g}"] for i, v in enumerate(rng.random(points) * 100)]
        labels = {"Hostname": f"h100-{s // 8}", "gpu": str(s % 8), "modelName": "NVIDIA H100 80GB HBM3",
                  "UUID": f"GPU-{s:08d}-0000-0000-0000-000000000000"}  # fmt: skip
        result.append({"metric": labels, "values": values})
    return orjson.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


def _loop_parse(payload: bytes) -> Any:
    """The peer: a plain per-sample loop into rows, then a frame."""
    import pandas as pd

    rows = []
    for series in json.loads(payload)["data"]["result"]:
        for timestamp, value in series["values"]:
            rows.append({"timestamp": timestamp, "value": float(value), **series["metric"]})
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    return frame


def _median_each(fn: Any, items: list[str]) -> float:
    """Median wall time of `fn(item)` over `items` (run back to back, not interleaved)."""
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> Iterator[Result]:
    import pandas as pd

    from hxb_lab.clients.prometheus import parse_matrix
    from hxb_lab.config import ClickHouseConfig, Profile
    from hxb_lab.workbench import Workbench

    payload = _response()
    ours = median_time(lambda: parse_matrix(payload), repeat=5)
    peer = median_time(lambda: _loop_parse(payload), repeat=3)
    yield Result("parse 1 M-sample range response", ours, peer, "per-sample loop", goal=">= 3x")

    directory, seconds = _directory()
    if seconds is not None:
        yield Result("generate + write 10 M spans", seconds, 120.0, "budget", goal="< 120 s")
    summary = json.loads((directory / "summary.json").read_text())
    start, end = summary["start"], summary["end"]
    wb = Workbench(Profile(name="bench", clickhouse=ClickHouseConfig(dsn=f"parquet://{directory}")))

    ours = median_time(lambda: wb.traces.services(start, end), repeat=5)
    peer, rows = _pandas_time(directory)
    yield Result(f"traces.services() on {rows / 1e6:.1f} M spans", ours, peer,
                 "pandas groupby.quantile", goal="< 0.5 s and >= 5x")  # fmt: skip

    lookup = pd.read_parquet(directory / "traces_trace_id_ts", columns=["TraceId"])
    ids = random.Random(7).sample(list(lookup["TraceId"]), 20)
    for trace_id in ids:  # the same spans either way
        assert len(wb.traces.get(trace_id)) == len(_without_lookup(wb, trace_id)) > 0
    ours = _median_each(lambda trace_id: wb.traces.get(trace_id), ids * 3)
    peer = _median_each(lambda trace_id: _without_lookup(wb, trace_id), ids)
    yield Result("traces.get(trace_id), median of 20 traces", ours, peer,
                 "without lookup table", goal="< 50 ms and >= 10x")  # fmt: skip
    wb.close()
