"""Traces from Jaeger: our path (``wb.traces`` on a ``jaeger`` profile, frames built) against
Jaeger's own JSON HTTP API called directly (the same request, the answer parsed), in the
same run, on a Jaeger v2 with 2,000 traces (about 8,000 spans) fed by the OpenTelemetry SDK.

- ``trace by id``: ``wb.traces.get(id)`` (the waterfall frame) vs ``GET /api/traces/{id}``.
- ``service search``: ``wb.traces.search(service=..., limit=20)`` (summary frame with links)
  vs ``GET /api/traces?service=...&limit=20``.

Goal: at most 1.2x Jaeger's own API (ratio >= 0.83). Measured on a loaded 2-core machine:
0.11x (94 ms against 11 ms) and 0.21x (114 ms against 25 ms): the time is pandas building
the frames (the waterfall's typed columns), not the requests, which are Jaeger's own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from hxb_lab.config import JaegerConfig, Profile
from hxb_lab.workbench import Workbench
from tests.benchmarks._harness import Result, median_time
from tests.support.jaeger_server import feed, start_jaeger, wait_until_stored
from tests.support.otel_spans import make_spans

TRACES = 2000
GOAL = "<= 1.2x Jaeger's API"


def run() -> Iterator[Result]:
    now = datetime.now(UTC).replace(microsecond=0)
    spans = make_spans(now, traces=TRACES)
    with tempfile.TemporaryDirectory() as home, start_jaeger(Path(home)) as jaeger:
        feed(jaeger, spans)
        counts = wait_until_stored(jaeger, spans)
        trace_id = max(counts, key=lambda t: (counts[t], t))
        wb = Workbench(Profile(name="bench", jaeger=JaegerConfig(url=jaeger.url)))
        http = httpx.Client(base_url=jaeger.url, timeout=30)
        start_us = int((now.timestamp() - 3600) * 1e6)
        end_us = int(now.timestamp() * 1e6)
        try:
            ours = median_time(lambda: wb.traces.get(trace_id), repeat=21)
            peer = median_time(
                lambda: orjson.loads(http.get(f"/api/traces/{trace_id}").content), repeat=21
            )
            yield Result("jaeger: trace by id", ours, peer, "Jaeger /api/traces/{id}", goal=GOAL)
            params = {"service": "gateway", "limit": 20, "start": start_us, "end": end_us}
            ours = median_time(
                lambda: wb.traces.search(service="gateway", start="-1h", end=now, limit=20),
                repeat=11,
            )
            peer = median_time(
                lambda: orjson.loads(http.get("/api/traces", params=params).content), repeat=11
            )
            yield Result(
                "jaeger: service search (20 traces)", ours, peer, "Jaeger /api/traces", goal=GOAL
            )
        finally:
            http.close()
            wb.close()
