"""One set of spans for two trace backends: made by the real OpenTelemetry SDK, then sent to
Jaeger over OTLP (`tests.support.jaeger_server.feed`) and written as the ClickHouse
exporter's ``otel_traces`` rows in Parquet (`write_parquet`), so both paths read the same.

`make_spans` draws a small, seeded platform: a gateway calling two models (one with an
internal tokenizer step), a client call to a service that never answers (named by
``peer.service``), errors on a share of the calls, and a service whose names and attribute
values are made of quote, brace and JSON characters. Times are whole microseconds (the
precision of Jaeger's classic API).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "HOSTILE_OPERATION",
    "HOSTILE_SERVICE",
    "HOSTILE_VALUE",
    "make_spans",
    "make_wide_trace",
    "write_parquet",
]

HOSTILE_SERVICE = 'ev"il} svc{'
HOSTILE_OPERATION = "op \"quoted\" {'tags'}\\"
HOSTILE_VALUE = '{"tenant":"x"}", "error":"true'
SCOPE = ("hxb-lab-tests", "1.0")


def make_spans(now: datetime, traces: int = 120, seed: int = 3) -> list[ReadableSpan]:
    """`traces` traces in the ten minutes before `now`, spans ended and collected."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import SpanKind, Status, StatusCode

    rng = random.Random(seed)

    class Ids(IdGenerator):  # deterministic ids: the same spans in every run
        def generate_span_id(self) -> int:
            return rng.getrandbits(64) | 1

        def generate_trace_id(self) -> int:
            return rng.getrandbits(128) | 1

    collected = InMemorySpanExporter()
    tracers: dict[str, Any] = {}

    def tracer(service: str) -> Any:
        if service not in tracers:
            provider = TracerProvider(
                resource=Resource.create(
                    {"service.name": service, "deployment.environment": "test"}
                ),
                id_generator=Ids(),
            )
            provider.add_span_processor(SimpleSpanProcessor(collected))
            tracers[service] = provider.get_tracer(*SCOPE)
        return tracers[service]

    def us(t: float) -> int:  # whole microseconds, in ns
        return int(t * 1e6) * 1000

    def span(service: str, name: str, kind: Any, parent: Any, begin: float, took: float,
             attributes: dict[str, Any], failed: bool = False) -> Any:  # fmt: skip
        context = trace.set_span_in_context(parent) if parent is not None else None
        s = tracer(service).start_span(
            name, context=context, kind=kind, start_time=us(begin), attributes=attributes
        )
        if failed:
            s.set_status(Status(StatusCode.ERROR, f"{name} failed"))
        elif kind == SpanKind.SERVER:
            s.set_status(Status(StatusCode.OK))
        return s, us(begin + took)

    end = now.timestamp() - 30
    for n in range(traces):
        t0 = end - 600 + n * (570 / traces) + rng.random()
        model = "llm-chat" if n % 3 else "embedder"
        failed = rng.random() < 0.15
        total = rng.lognormvariate(-2.5, 0.6)
        root, root_end = span("gateway", "POST /v1/predict", SpanKind.SERVER, None, t0, total,
                              {"http.route": "/v1/predict", "tenant": f"team-{n % 4}"}, failed)  # fmt: skip
        call_at, call = t0 + total * 0.1, total * 0.8
        client, client_end = span("gateway", f"call {model}", SpanKind.CLIENT, root, call_at, call,
                                  {"peer.service": model}, failed)  # fmt: skip
        server, server_end = span(model, "infer", SpanKind.SERVER, client, call_at + call * 0.05,
                                  call * 0.9, {"model.version": str(1 + n % 2)}, failed)  # fmt: skip
        finished = []
        if model == "llm-chat":
            step = span(model, "tokenize", SpanKind.INTERNAL, server, call_at + call * 0.1,
                        call * 0.2, {"tokens": 10 + n})  # fmt: skip
            finished.append(step)
        if n % 10 == 0:  # an audit call nobody answers: the dependency comes from peer.service
            finished.append(span("gateway", "audit", SpanKind.CLIENT, root, t0 + total * 0.92,
                                 total * 0.05, {"peer.service": "audit-log"}))  # fmt: skip
        if n % 8 == 0:  # hostile names and values
            odd, odd_end = span(HOSTILE_SERVICE, HOSTILE_OPERATION, SpanKind.SERVER, None,
                                t0 + 0.5, total / 2, {"note": HOSTILE_VALUE}, n % 16 == 0)  # fmt: skip
            finished.append((odd, odd_end))
        for s, stop in [*finished, (server, server_end), (client, client_end), (root, root_end)]:
            s.end(end_time=stop)
    return list(collected.get_finished_spans())


def make_wide_trace(now: datetime, calls: int = 100, seed: int = 5) -> list[ReadableSpan]:
    """One batch request fanning out: a gateway span calling the model `calls` times (a
    client span, the model's server span and its tokenizer step each), ``3 * calls + 1``
    spans with attributes, ended a minute before `now`."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import SpanKind

    rng = random.Random(seed)

    class Ids(IdGenerator):
        def generate_span_id(self) -> int:
            return rng.getrandbits(64) | 1

        def generate_trace_id(self) -> int:
            return rng.getrandbits(128) | 1

    collected = InMemorySpanExporter()

    def tracer(service: str) -> Any:
        provider = TracerProvider(resource=Resource.create({"service.name": service}),
                                  id_generator=Ids())  # fmt: skip
        provider.add_span_processor(SimpleSpanProcessor(collected))
        return provider.get_tracer(*SCOPE)

    gateway, model = tracer("batch-gateway"), tracer("llm-batch")
    us = 1_000
    t0 = int((now.timestamp() - 60) * 1e6) * us
    root = gateway.start_span("POST /v1/batch", kind=SpanKind.SERVER, start_time=t0,
                              attributes={"http.route": "/v1/batch", "batch.size": calls})  # fmt: skip
    at = t0
    for n in range(calls):
        took = int(rng.lognormvariate(-4, 0.5) * 1e6) * us
        client = gateway.start_span(f"call llm-batch #{n % 8}", kind=SpanKind.CLIENT,
                                    context=trace.set_span_in_context(root), start_time=at,
                                    attributes={"peer.service": "llm-batch", "item": n})  # fmt: skip
        server = model.start_span("infer", kind=SpanKind.SERVER,
                                  context=trace.set_span_in_context(client), start_time=at + us,
                                  attributes={"model.version": "3", "tokens": 20 + n})  # fmt: skip
        step = model.start_span("tokenize", kind=SpanKind.INTERNAL,
                                context=trace.set_span_in_context(server), start_time=at + 2 * us)  # fmt: skip
        step.end(end_time=at + 2 * us + took // 5)
        server.end(end_time=at + took - us)
        client.end(end_time=at + took)
        at += took
    root.end(end_time=at + us)
    return list(collected.get_finished_spans())


_KINDS = {"SERVER": "Server", "CLIENT": "Client", "INTERNAL": "Internal",
          "PRODUCER": "Producer", "CONSUMER": "Consumer"}  # fmt: skip
_STATUS = {"UNSET": "Unset", "OK": "Ok", "ERROR": "Error"}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_parquet(spans: Sequence[ReadableSpan], directory: Path) -> Path:
    """`spans` as the exporter's ``otel_traces`` rows (and the trace-id lookup table) in a
    Parquet directory a ``parquet://`` profile reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: dict[str, list[Any]] = {k: [] for k in (
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes",
        "Duration", "StatusCode", "StatusMessage")}  # fmt: skip
    bounds: dict[str, list[int]] = {}
    for s in spans:
        assert s.context is not None and s.start_time is not None and s.end_time is not None
        trace_id = format(s.context.trace_id, "032x")
        rows["Timestamp"].append(s.start_time)
        rows["TraceId"].append(trace_id)
        rows["SpanId"].append(format(s.context.span_id, "016x"))
        rows["ParentSpanId"].append(format(s.parent.span_id, "016x") if s.parent else "")
        rows["TraceState"].append("")
        rows["SpanName"].append(s.name)
        rows["SpanKind"].append(_KINDS[s.kind.name])
        rows["ServiceName"].append(str(s.resource.attributes["service.name"]))
        rows["ResourceAttributes"].append({k: _text(v) for k, v in s.resource.attributes.items()})
        scope = s.instrumentation_scope
        rows["ScopeName"].append(scope.name if scope else "")
        rows["ScopeVersion"].append((scope.version or "") if scope else "")
        rows["SpanAttributes"].append({k: _text(v) for k, v in (s.attributes or {}).items()})
        rows["Duration"].append(s.end_time - s.start_time)
        rows["StatusCode"].append(_STATUS[s.status.status_code.name])
        rows["StatusMessage"].append(s.status.description or "")
        first, last = bounds.setdefault(trace_id, [s.start_time, s.start_time])
        bounds[trace_id] = [min(first, s.start_time), max(last, s.start_time)]
    attrs = pa.map_(pa.string(), pa.string())
    ts = pa.timestamp("ns", tz="UTC")
    schema = pa.schema([
        ("Timestamp", ts), ("TraceId", pa.string()), ("SpanId", pa.string()),
        ("ParentSpanId", pa.string()), ("TraceState", pa.string()), ("SpanName", pa.string()),
        ("SpanKind", pa.string()), ("ServiceName", pa.string()), ("ResourceAttributes", attrs),
        ("ScopeName", pa.string()), ("ScopeVersion", pa.string()), ("SpanAttributes", attrs),
        ("Duration", pa.uint64()), ("StatusCode", pa.string()), ("StatusMessage", pa.string()),
    ])  # fmt: skip
    table = pa.table({k: [list(m.items()) if isinstance(m, dict) else m for m in v]
                      for k, v in rows.items()}, schema=schema)  # fmt: skip
    n = len(spans)
    empty: list[list[Any]] = [[] for _ in range(n)]
    for name, kind in (("Events.Timestamp", pa.list_(ts)), ("Events.Name", pa.list_(pa.string())),
                       ("Events.Attributes", pa.list_(attrs)), ("Links.TraceId", pa.list_(pa.string())),
                       ("Links.SpanId", pa.list_(pa.string())), ("Links.TraceState", pa.list_(pa.string())),
                       ("Links.Attributes", pa.list_(attrs))):  # fmt: skip
        table = table.append_column(pa.field(name, kind), pa.array(empty, type=kind))
    (directory / "traces").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, directory / "traces" / "spans.parquet")
    lookup = pa.table({
        "TraceId": list(bounds),
        "Start": pa.array([b[0] // 10**9 for b in bounds.values()], pa.timestamp("s", tz="UTC")),
        "End": pa.array([b[1] // 10**9 for b in bounds.values()], pa.timestamp("s", tz="UTC")),
    })  # fmt: skip
    (directory / "traces_trace_id_ts").mkdir(parents=True, exist_ok=True)
    pq.write_table(lookup, directory / "traces_trace_id_ts" / "ids.parquet")
    return directory
