"""A real Jaeger v2 with Service Performance Monitoring (SPM), and the Prometheus behind it.

Spans come in over OTLP and go two ways: to Jaeger's memory store, and to the
OpenTelemetry spanmetrics connector, whose call counters and duration histograms the
Prometheus exporter serves on a loopback port. Debian's Prometheus scrapes that port every
second, and Jaeger's query service reads its ``/api/metrics/*`` answers from that
Prometheus. Every listener is on 127.0.0.1 at a free port.

    with start_jaeger_spm(tmp) as spm:
        feed(spm.jaeger, spans)                 # tests.support.jaeger_server.feed
        spm.wait_for_calls(len(server_spans))   # Prometheus has scraped them
        spm.jaeger.url                          # /api/metrics/latencies, /calls, /errors

The histogram buckets are log-spaced, `BUCKETS_PER_DECADE` to a decade from 1 ms to 20 s,
so a quantile read from them lies within one bucket (12 %) of the exact one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.jaeger_server import Jaeger, build_jaeger
from tests.support.processes import Process, free_port, http_probe, start

__all__ = ["BUCKETS_PER_DECADE", "SpmJaeger", "start_jaeger_spm", "start_jaeger_with_metrics"]

BUCKETS_PER_DECADE = 20
#: The spanmetrics connector's bucket bounds, in milliseconds: 1 ms to 20 s.
BUCKETS_MS = [round(10 ** (i / BUCKETS_PER_DECADE), 4) for i in range(0, 87)]
#: Prometheus scrapes the connector's exporter this often.
SCRAPE_S = 1

JAEGER = """\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter, spanmetrics]
    metrics/spm:
      receivers: [spanmetrics]
      exporters: [prometheus]
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
      traces_in_memory:
        memory:
          max_traces: 50000
    metric_backends:
      span_metrics:
        prometheus:
          endpoint: {prometheus}
          normalize_calls: true
          normalize_duration: true
  jaeger_query:
    storage:
      traces: traces_in_memory
      metrics: span_metrics
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
connectors:
  spanmetrics:
    metrics_flush_interval: 200ms
    histogram:
      unit: ms
      explicit:
        buckets: [{buckets}]
exporters:
  jaeger_storage_exporter:
    trace_storage: traces_in_memory
  prometheus:
    endpoint: 127.0.0.1:{exporter}
"""

PROMETHEUS = """\
global:
  scrape_interval: {scrape}s
  scrape_timeout: {scrape}s
scrape_configs:
  - job_name: spanmetrics
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
"""


@dataclass
class SpmJaeger:
    """Jaeger with its metrics (`jaeger`), the Prometheus it asks (`prometheus_url`)."""

    jaeger: Jaeger
    prometheus_url: str
    prometheus: Process = field(repr=False)

    def __enter__(self) -> SpmJaeger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.jaeger.process.stop()
        self.prometheus.stop()

    def scraped_calls(self) -> tuple[float, float]:
        """(calls Prometheus holds, time of its latest scrape in s) from its newest samples."""
        import httpx

        query = (
            "sum(traces_span_metrics_calls_total) or vector(0)",
            "max(timestamp(traces_span_metrics_calls_total)) or vector(0)",
        )
        values = []
        for promql in query:
            answer = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": promql})
            values.append(float(answer.json()["data"]["result"][0]["value"][1]))
        return values[0], values[1]

    def wait_for_calls(self, calls: int, *, after: float = 0.0, timeout: float = 30) -> float:
        """Wait until Prometheus has scraped `calls` spans in all, in a scrape later than
        `after` (seconds since the epoch); the time of that scrape."""
        deadline = time.monotonic() + timeout
        while True:
            seen, at = self.scraped_calls()
            if seen == calls and at > after:
                return at
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Prometheus holds {seen:g} span calls scraped at {at:.3f}, "
                    f"expected {calls} after {after:.3f}"
                )
            time.sleep(0.1)  # scrapes are not announced: poll Prometheus


@contextlib.contextmanager
def _stopping(process: Process) -> Iterator[Process]:
    try:
        yield process
    except BaseException:
        process.stop()
        raise


def start_jaeger_with_metrics(
    home: Path, prometheus_url: str, exporter_port: int, timeout: float = 60.0
) -> Jaeger:
    """Jaeger whose span metrics are served on `exporter_port` and read from the Prometheus
    at `prometheus_url` (which may be down: Jaeger starts all the same)."""
    binary = build_jaeger()
    ports = {name: free_port() for name in ("health", "health_grpc", "query", "query_grpc", "otlp")}
    home.mkdir(parents=True, exist_ok=True)
    config = home / "jaeger-spm.yaml"
    config.write_text(
        JAEGER.format(
            prometheus=prometheus_url,
            exporter=exporter_port,
            buckets=", ".join(f"{b}ms" for b in BUCKETS_MS),
            **ports,
        )
    )
    health = http_probe(f"http://127.0.0.1:{ports['health']}/status")
    query = http_probe(f"http://127.0.0.1:{ports['query']}/api/services")
    process = start(
        [str(binary), "--config", str(config)], home / "jaeger.log",
        lambda: health() and query(), timeout=timeout, name="jaeger-spm",
    )  # fmt: skip
    return Jaeger(
        f"http://127.0.0.1:{ports['query']}",
        f"http://127.0.0.1:{ports['otlp']}/v1/traces",
        process,
    )


def start_jaeger_spm(home: Path, prometheus_binary: str, timeout: float = 60.0) -> SpmJaeger:
    """Prometheus scraping the span metrics, then Jaeger asking it, under `home`."""
    exporter, port = free_port(), free_port()
    home.mkdir(parents=True, exist_ok=True)
    prometheus_url = f"http://127.0.0.1:{port}"
    (home / "prometheus.yml").write_text(PROMETHEUS.format(scrape=SCRAPE_S, exporter=exporter))
    prometheus = start(
        [
            prometheus_binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        home / "prometheus.log",
        f"{prometheus_url}/-/ready",
        timeout=timeout,
        name="prometheus",
    )
    with _stopping(prometheus):
        jaeger = start_jaeger_with_metrics(home, prometheus_url, exporter, timeout)
    return SpmJaeger(jaeger, prometheus_url, prometheus)
