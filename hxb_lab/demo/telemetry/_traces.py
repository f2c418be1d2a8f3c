"""Spans of the demo platform as the exporter's ``otel_traces`` rows, written as Parquet.

`_flows` decides trace trees and timings with numpy; this module gives the spans their
ids, names and attribute maps and lays them out for fast reads: one file per hour (a
time filter opens only its hours' files), rows sorted by minute, then service, then time
(numbers are sorted before any wide column is built), so a time filter skips row groups
and a service filter skips pages, with small pages and a page index so the second of one
trace decodes a few pages. Measured on 10 M spans, sorting by minute first reads one
trace twice as fast as sorting by service first. Attribute and resource maps repeat a
few hundred distinct values, so each is built once and taken by index.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.demo import scenario
from hxb_lab.demo.telemetry._flows import (
    FLOWS,
    FRONT_NAMESPACE,
    MODELS,
    Incidents,
    Simulation,
    Span,
)
from hxb_lab.demo.telemetry._flows import spans_per_trace as _spans_per_trace

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from hxb_lab.demo.telemetry._fleet import Fleet

MINUTE_NS = 60 * 10**9
HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS
ROW_GROUP = 65536
#: Small pages make the page index fine-grained: a read of one trace's second decodes a
#: few pages per service instead of whole row groups. No bloom filter on TraceId: the
#: trace-id lookup table is the index (as in the exporter), and writing one costs time.
PAGE_ROWS = 1024
_SCOPES = {
    "http": "opentelemetry.instrumentation.http",
    "grpc": "opentelemetry.instrumentation.grpc",
    "kafka": "opentelemetry.instrumentation.kafka",
    "": "hxb.inference",
}


def traffic(t_ns: Any) -> Any:
    """Relative request rate at `t_ns`: a daily wave peaking at 15:00 UTC (mean 1)."""
    import numpy as np

    phase = (np.asarray(t_ns, dtype=np.float64) % DAY_NS) / DAY_NS
    return 1.0 + 0.3 * np.cos(2 * math.pi * (phase - 15 / 24))


def trace_starts(n: int, start_ns: int, end_ns: int, rng: np.random.Generator) -> Any:
    """`n` sorted start times following `traffic`, by inverting its cumulative curve."""
    import numpy as np

    grid = np.linspace(start_ns, end_ns, 2049)
    density = traffic(grid)
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    cdf /= cdf[-1]
    u = np.sort(rng.random(n))
    return np.interp(u, cdf, grid).astype(np.int64)


def hex_ids(values: Any) -> Any:
    """uint64 values as 16-character lowercase hex strings (a numpy ``S16`` array)."""
    import numpy as np

    table = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
    octets = np.ascontiguousarray(values.astype(">u8")).view(np.uint8).reshape(-1, 8)
    return np.ascontiguousarray(table[octets]).view("S16").reshape(-1)


class Distinct:
    """Distinct values (strings or maps) coded as indices, to build columns by `take`."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.codes: dict[Any, int] = {}

    def code(self, value: Any) -> int:
        key = tuple(value) if isinstance(value, list) else value
        if key not in self.codes:
            self.codes[key] = len(self.values)
            self.values.append(value)
        return self.codes[key]


@dataclass
class _Columns:
    """Per-span numeric columns, concatenated over every span position of every flow."""

    parts: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, **arrays: Any) -> None:
        for key, value in arrays.items():
            self.parts.setdefault(key, []).append(value)

    def build(self) -> dict[str, Any]:
        import numpy as np

        return {k: np.concatenate(v) for k, v in self.parts.items()}


def _attributes(span: Span, route: str, code: int, version: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if span.protocol == "http":
        out.append(("http.request.method", "POST"))
        if span.kind == "Server":
            path = route if span.parent < 0 else span.name.removeprefix("POST ")
            out.append(("http.route", path))
        out.append(("http.response.status_code", str(code)))
    elif span.protocol == "grpc":
        service, _, method = span.name.partition("/")
        out += [("rpc.system", "grpc"), ("rpc.service", service), ("rpc.method", method)]
        out.append(("rpc.grpc.status_code", str(code)))
    elif span.protocol == "kafka":
        topic, _, operation = span.name.partition(" ")
        out += [("messaging.system", "kafka"), ("messaging.destination.name", topic)]
        out.append(("messaging.operation", operation))
    if span.peer:
        namespace = MODELS[span.peer].workspace if span.peer in MODELS else FRONT_NAMESPACE
        out += [("peer.service", span.peer)]
        out += [("server.address", f"{span.peer}.{namespace}.svc.cluster.local")]
    model = span.service if span.service in MODELS else span.peer if span.peer in MODELS else ""
    if model:
        out += [("hxb.model.name", model), ("hxb.model.version", str(version))]
    if span.attempt > 1:
        out.append(("hxb.retry.attempt", str(span.attempt)))
    return out


def _front_pods(seed: int) -> dict[str, list[tuple[str, str]]]:
    import random

    rng = random.Random(seed * 31 + 1)
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    pods: dict[str, list[tuple[str, str]]] = {}
    for i, service in enumerate(scenario.FRONT_SERVICES):
        rs = "".join(rng.choice(alphabet) for _ in range(9))
        pods[service] = [
            (
                f"{service}-{rs}-{''.join(rng.choice(alphabet) for _ in range(5))}",
                f"cpu-{(i + k) % 3}",
            )
            for k in range(3)
        ]
    return pods


class TraceBuilder:
    """Simulates the flows and collects their spans as coded numeric columns."""

    def __init__(self, seed: int, fleet: Fleet, now_ns: int) -> None:
        import numpy as np

        self.rng = np.random.default_rng(seed)
        self.fleet = fleet
        self.incidents = Incidents(now_ns)
        self.front = _front_pods(seed)
        self.strings = Distinct()
        self.attributes = Distinct()
        self.resources = Distinct()
        self.columns = _Columns()
        self.traces = 0

    def run(self, n_spans: int, start_ns: int, end_ns: int) -> None:
        import numpy as np

        weights = np.array([f.weight for f in FLOWS])
        weights /= weights.sum()
        per_trace = float(np.dot(weights, [_spans_per_trace(f) for f in FLOWS]))
        n_traces = max(len(FLOWS), int(n_spans / per_trace))
        for flow, n in zip(FLOWS, self.rng.multinomial(n_traces, weights), strict=True):
            self._flow(flow, int(n), trace_starts(int(n), start_ns, end_ns, self.rng))

    def _pods(self, service: str, canary: Any, n: int) -> tuple[list[tuple[str, str, str]], Any]:
        """The service's (pod, node, namespace) choices and which one serves each trace."""
        import numpy as np

        if service not in MODELS:
            pairs = self.front[service]
            return [(p, x, FRONT_NAMESPACE) for p, x in pairs], self.rng.integers(0, len(pairs), n)
        pods = self.fleet.pods[service]
        stable = [i for i, p in enumerate(pods) if not p.canary] or [0]
        pick = np.asarray(stable)[self.rng.integers(0, len(stable), n)]
        canaries = [i for i, p in enumerate(pods) if p.canary]
        if canaries and service == scenario.CANARY_ROLLOUT.target:
            pick = np.where(canary, canaries[0], pick)
        return [(p.name, p.node, p.namespace) for p in pods], pick

    def _flow(self, flow: Any, n: int, t: Any) -> None:
        import numpy as np

        sim = Simulation(flow, t, self.rng, self.incidents)
        spans = sim.run()
        ids = [self.rng.integers(1, 2**63, n, dtype=np.uint64) for _ in spans]
        trace_hi = self.rng.integers(1, 2**63, n, dtype=np.uint64)
        trace_lo = self.rng.integers(1, 2**63, n, dtype=np.uint64)
        choices = {s: self._pods(s, sim.canary, n) for s in {sp.service for sp in spans}}
        for span in spans:
            rows = np.flatnonzero(span.present)
            if len(rows) == 0:
                continue
            model = (
                span.service if span.service in MODELS else span.peer if span.peer in MODELS else ""
            )
            version = np.full(len(rows), MODELS[model].version if model else 0, dtype=np.int64)
            if model == scenario.CANARY_ROLLOUT.target:
                # Every span of a request the canary served names the canary's version: its
                # server span, the steps under it, and the caller's client span to it.
                version = np.where(sim.canary[rows], version + 1, version)
            code = span.code[rows]
            # Attribute maps per distinct (code, version); resource maps per (pod, version).
            combos = code * 1000 + version
            attr_code = np.zeros(len(rows), dtype=np.int32)
            for value in np.unique(combos):
                m = self.attributes.code(
                    _attributes(span, flow.route, int(value // 1000), int(value % 1000))
                )
                attr_code[combos == value] = m
            pods, pick = choices[span.service]
            picked = pick[rows] * 1000 + version
            res_code = np.zeros(len(rows), dtype=np.int32)
            for value in np.unique(picked):
                pod, node, namespace = pods[int(value // 1000)]
                own = span.service if span.service in MODELS else ""
                res = [
                    ("service.name", span.service),
                    ("service.namespace", "hxb"),
                    ("service.version", str(int(value % 1000)) if own else "2.14.0"),
                    ("deployment.environment.name", "demo"),
                    ("k8s.cluster.name", scenario.CLUSTER),
                    ("k8s.namespace.name", namespace),
                    ("k8s.pod.name", pod),
                    ("k8s.node.name", node),
                ]
                res_code[picked == value] = self.resources.code(res)
            error = span.error[rows]
            message = span.message if span.kind in ("Server", "Client") else ""
            self.columns.add(
                start=t[rows] + np.round(span.start[rows] * 1e6).astype(np.int64),
                duration=np.maximum(np.round(span.duration[rows] * 1e6), 1000).astype(np.uint64),
                trace_hi=trace_hi[rows],
                trace_lo=trace_lo[rows],
                span_id=ids[span.index][rows],
                parent_id=ids[span.parent][rows]
                if span.parent >= 0
                else np.zeros(len(rows), np.uint64),
                service=np.full(len(rows), self.strings.code(span.service), np.int32),
                name=np.full(len(rows), self.strings.code(span.name), np.int32),
                kind=np.full(len(rows), self.strings.code(span.kind), np.int32),
                scope=np.full(len(rows), self.strings.code(_SCOPES[span.protocol]), np.int32),
                error=error,
                message=np.where(error, self.strings.code(message), self.strings.code("")).astype(
                    np.int32
                ),
                exception=np.full(
                    len(rows),
                    self.strings.code(
                        "DeadlineExceeded"
                        if span.service == scenario.ERROR_BURST.target
                        else "InferenceServerException"
                    ),
                    np.int32,
                ),
                server=np.full(len(rows), span.kind == "Server", bool),
                attributes=attr_code,
                resource=res_code,
            )
        self.traces += n

    def tables(self) -> Iterator[tuple[str, pa.Table]]:
        """Every span as exporter rows, one table per hour (``YYYYMMDDHH``), each sorted by
        minute, service name and time. Wide columns are built an hour at a time to bound
        memory."""
        import numpy as np

        c = self.columns.build()
        self.columns = _Columns()
        for word in ("", "Error", "Unset", "0.48b0", "exception"):
            self.strings.code(word)
        rank = np.argsort(np.argsort(np.array(self.strings.values, dtype=object)))
        order = np.lexsort((c["start"], rank[c["service"]], c["start"] // MINUTE_NS))
        hours = c["start"][order] // HOUR_NS
        edges = [0, *(np.flatnonzero(np.diff(hours)) + 1).tolist(), len(order)]
        for begin, end in itertools.pairwise(edges):
            rows = order[begin:end]
            stamp = (
                np.datetime64(int(hours[begin]), "h").astype(str).replace("-", "").replace("T", "")
            )
            yield stamp, self._table({k: v[rows] for k, v in c.items()})

    def _table(self, c: dict[str, Any]) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        words = self.strings.values
        strings = pa.array(words, pa.string())
        code = self.strings.codes

        def coded(codes: Any) -> pa.Array:
            return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), strings)

        def constant(word: str) -> pa.Array:
            return coded(np.full(n, code[word], np.int32))

        maps = pa.map_(pa.string(), pa.string())
        n = len(c["start"])
        trace_id = np.stack([hex_ids(c["trace_hi"]), hex_ids(c["trace_lo"])], axis=1).view("S32")
        parent = hex_ids(c["parent_id"])
        parent[c["parent_id"] == 0] = b""
        with_event = c["error"] & c["server"]
        offsets = pa.array(np.concatenate([[0], np.cumsum(with_event)]).astype(np.int32))
        event_ts = (c["start"] + c["duration"].astype(np.int64))[with_event]
        event_attrs = pa.array(
            [
                [("exception.type", words[e]), ("exception.message", words[m])]
                for e, m in zip(c["exception"][with_event], c["message"][with_event], strict=True)
            ],
            maps,
        )
        event_names = coded(np.full(int(with_event.sum()), code["exception"], np.int32))
        status = np.where(c["error"], code["Error"], code["Unset"]).astype(np.int32)
        return pa.table(
            {
                "Timestamp": pa.array(c["start"], pa.timestamp("ns", "UTC")),
                "TraceId": pa.array(trace_id[:, 0]).cast(pa.string()),
                "SpanId": pa.array(hex_ids(c["span_id"])).cast(pa.string()),
                "ParentSpanId": pa.array(parent).cast(pa.string()),
                "TraceState": constant(""),
                "SpanName": coded(c["name"]),
                "SpanKind": coded(c["kind"]),
                "ServiceName": coded(c["service"]),
                "ResourceAttributes": pa.array(self.resources.values, maps).take(c["resource"]),
                "ScopeName": coded(c["scope"]),
                "ScopeVersion": constant("0.48b0"),
                "SpanAttributes": pa.array(self.attributes.values, maps).take(c["attributes"]),
                "Duration": pa.array(c["duration"], pa.uint64()),
                "StatusCode": coded(status),
                "StatusMessage": coded(c["message"]),
                "Events.Timestamp": pa.ListArray.from_arrays(
                    offsets, pa.array(event_ts, pa.timestamp("ns", "UTC"))
                ),
                "Events.Name": pa.ListArray.from_arrays(offsets, event_names),
                "Events.Attributes": pa.ListArray.from_arrays(offsets, event_attrs),
            }
        )


def write_traces(builder: TraceBuilder, directory: Path) -> int:
    """One Parquet file per hour (``YYYYMMDDHH.parquet``); returns the spans written."""
    import pyarrow.parquet as pq

    written = 0
    for stamp, table in builder.tables():
        dictionary = [
            c for c in table.column_names if c not in ("TraceId", "SpanId", "ParentSpanId")
        ]
        pq.write_table(
            table,
            str(directory / f"{stamp}.parquet"),
            row_group_size=ROW_GROUP,
            compression="zstd",
            use_dictionary=dictionary,
            write_page_index=True,
            max_rows_per_page=PAGE_ROWS,
        )
        written += table.num_rows
    return written
