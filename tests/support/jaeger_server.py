"""A real Jaeger (v2, in-memory storage) on loopback, fed by the OpenTelemetry SDK over OTLP.

The binary is built from Go modules by ``tests/telemetry/jaeger/build.sh`` (cached under
``~/.cache/hxb-lab/jaeger``). Jaeger v2 is an OpenTelemetry Collector distribution: the
configuration written here has one OTLP/HTTP receiver, the memory store, the query service
(HTTP only) and no other listener, every endpoint on 127.0.0.1 at a free port.

    with start_jaeger(tmp) as jaeger:
        feed(jaeger, spans)            # OTLP/HTTP through the SDK's exporter
        jaeger.url                     # the query service: /api/..., /api/v3/...
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.processes import Process, free_port, http_probe, start

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["BUILD", "Jaeger", "build_jaeger", "feed", "start_jaeger", "wait_until_stored"]

BUILD = Path(__file__).resolve().parents[1] / "telemetry" / "jaeger" / "build.sh"
#: Traces the memory store keeps (the oldest are dropped beyond it).
MAX_TRACES = 50_000

CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{health}
    grpc:
      endpoint: 127.0.0.1:{health_grpc}
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: {max_traces}
  jaeger_query:
    storage:
      traces: memory_store
    enable_tracing: false
    max_clock_skew_adjust: 0s
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
"""


@dataclass
class Jaeger:
    url: str  # the query service (HTTP API and UI)
    otlp_url: str  # OTLP/HTTP traces endpoint
    process: Process = field(repr=False)

    def __enter__(self) -> Jaeger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()


def build_jaeger() -> Path:
    """The cached Jaeger binary (built on first use: minutes, once per machine)."""
    out = subprocess.run(
        ["bash", str(BUILD)], check=True, capture_output=True, text=True, timeout=1800
    )
    return Path(out.stdout.strip().splitlines()[-1])


def start_jaeger(home: Path, timeout: float = 60.0) -> Jaeger:
    """Jaeger on free loopback ports, its configuration and log under `home`."""
    binary = build_jaeger()
    ports = {
        "health": free_port(),
        "health_grpc": free_port(),
        "query": free_port(),
        "query_grpc": free_port(),
        "otlp": free_port(),
    }
    home.mkdir(parents=True, exist_ok=True)
    config = home / "jaeger.yaml"
    config.write_text(CONFIG.format(max_traces=MAX_TRACES, **ports))
    # Ready when the pipeline reports healthy and the query service answers its API.
    health = http_probe(f"http://127.0.0.1:{ports['health']}/status")
    query = http_probe(f"http://127.0.0.1:{ports['query']}/api/services")
    process = start(
        [str(binary), "--config", str(config)], home / "jaeger.log",
        lambda: health() and query(), timeout=timeout, name="jaeger",
    )  # fmt: skip
    return Jaeger(
        f"http://127.0.0.1:{ports['query']}",
        f"http://127.0.0.1:{ports['otlp']}/v1/traces",
        process,
    )


def feed(jaeger: Jaeger, spans: Sequence[ReadableSpan]) -> None:
    """Send finished SDK spans to Jaeger through the SDK's OTLP/HTTP exporter, in the order
    they ended (as a live service's batch processor sends them): Jaeger's memory store
    keeps traces in the order they arrive, and its search returns the newest first."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    spans = sorted(spans, key=lambda s: s.end_time or 0)
    exporter = OTLPSpanExporter(endpoint=jaeger.otlp_url, timeout=30)
    try:
        for i in range(0, len(spans), 2000):
            result = exporter.export(list(spans[i : i + 2000]))
            if result is not SpanExportResult.SUCCESS:
                raise RuntimeError(f"Jaeger at {jaeger.otlp_url} refused {len(spans)} spans")
    finally:
        exporter.shutdown()


def wait_until_stored(
    jaeger: Jaeger, spans: Iterable[ReadableSpan], timeout: float = 30
) -> Counter[str]:
    """Poll Jaeger's search until every trace of `spans` is stored whole (its collector
    batches what it receives); the spans per trace id."""
    import httpx

    expected: Counter[str] = Counter()
    services = set()
    for s in spans:
        assert s.context is not None
        expected[format(s.context.trace_id, "032x")] += 1
        services.add(str(s.resource.attributes["service.name"]))
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=jaeger.url, timeout=10) as http:
        while True:
            seen: Counter[str] = Counter()
            for service in sorted(services):
                params = {"service": service, "limit": MAX_TRACES, "lookback": "6h"}
                for trace in http.get("/api/traces", params=params).json()["data"] or []:
                    seen[trace["traceID"].rjust(32, "0")] = len(trace["spans"])
            if seen == expected:
                return expected
            if time.monotonic() > deadline:
                missing = sum((expected - seen).values())
                raise AssertionError(f"Jaeger stored {sum(seen.values())} spans, {missing} missing")
            time.sleep(0.1)  # nothing signals that a batch was stored: poll
