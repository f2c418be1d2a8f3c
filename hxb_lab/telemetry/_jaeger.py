"""Traces read from Jaeger's query service, as the rows the ClickHouse path reads.

Jaeger's traces become the same raw span rows as ``otel_traces`` gives (span_id,
parent_span_id, service, operation, kind, start_ns, duration_ns, status, status_message,
attributes, resource; `Span`), read from its API v3 (`_jaeger_otlp`) where Jaeger serves
it, else from its classic JSON API (`spans` here), so the waterfall, critical path, search
summaries and figures are computed by the same code on either backend. Dependency figures,
and service and operation figures when Jaeger has no span metrics (SPM, see `_jaeger_spm`),
come from a bounded sample of whole traces: at most ``jaeger.sample_traces`` per service
and range. When the sample holds every trace of the range the figures equal the
ClickHouse path's (the same histogram buckets, within 6 % of the exact quantiles); the
frame's ``attrs`` say how many traces were read and whether the sample was cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import floor, log10
from typing import TYPE_CHECKING, Any

from hxb_lab.clients.jaeger import Jaeger, open_jaeger
from hxb_lab.otel_tables import BUCKETS_PER_DECADE
from hxb_lab.telemetry import _jaeger_otlp
from hxb_lab.telemetry._jaeger_span import Span
from hxb_lab.telemetry._red import percentile

if TYPE_CHECKING:
    from hxb_lab.context import Context

#: Tags Jaeger derives from OpenTelemetry fields; they are columns here, not attributes.
DERIVED_TAGS = frozenset(
    {
        "span.kind",
        "otel.status_code",
        "otel.status_description",
        "error",
        "otel.scope.name",
        "otel.scope.version",
        "internal.span.format",
        "w3c.tracestate",
    }
)


def client(ctx: Context) -> Jaeger:
    """The profile's Jaeger, opened on first use."""
    found: Jaeger = ctx.clients.get("jaeger", open_jaeger)
    return found


def _text(tag: Mapping[str, Any]) -> str:
    """A tag's value as the ClickHouse exporter writes attributes: as text."""
    value = tag.get("value")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def spans(trace: Mapping[str, Any], details: bool = True) -> list[Span]:
    """The spans of one trace of Jaeger's JSON API (one pass over each span's tags).

    Without `details` the spans' attributes and resource are left empty: what a search
    summary needs is read, and nothing else.
    """
    processes: dict[Any, tuple[str, dict[str, str]]] = {}
    for pid, process in (trace.get("processes") or {}).items():
        service = str(process.get("serviceName", ""))
        resource = {}
        if details:
            resource = {str(t.get("key", "")): _text(t) for t in process.get("tags") or []}
            resource["service.name"] = service
        processes[pid] = (service, resource)
    nowhere = ("", {"service.name": ""} if details else {})
    out = []
    for raw in trace.get("spans") or []:
        service, resource = processes.get(raw.get("processID")) or nowhere
        trace_id = str(raw.get("traceID", "")).rjust(32, "0")
        parent = ""
        for ref in raw.get("references") or ():
            if (
                ref.get("refType") == "CHILD_OF"
                and str(ref.get("traceID", "")).rjust(32, "0") == trace_id
            ):
                parent = str(ref.get("spanID", ""))
                break
        attributes: dict[str, str] = {}
        derived: dict[str, str] = {}
        for tag in raw.get("tags") or ():
            key = tag.get("key", "")
            if key in DERIVED_TAGS:
                value = tag.get("value")
                derived[key] = value if type(value) is str else _text(tag)
            elif details:
                value = tag.get("value")
                attributes[str(key)] = value if type(value) is str else _text(tag)
        code = derived.get("otel.status_code", "").lower()
        if code not in ("ok", "error"):
            code = "error" if derived.get("error") == "true" else "unset"
        out.append(
            Span(
                trace_id,
                str(raw.get("spanID", "")),
                parent,
                service,
                str(raw.get("operationName", "")),
                derived.get("span.kind", "internal").lower(),
                int(raw.get("startTime", 0)) * 1000,
                int(raw.get("duration", 0)) * 1000,
                code,
                derived.get("otel.status_description", ""),
                attributes,
                dict(resource),  # each span its own, as ClickHouse rows have
            )
        )
    return out


def trace(jaeger: Jaeger, trace_id: str) -> list[Span]:
    """The spans of one trace (none when Jaeger does not have it), through API v3 when
    this Jaeger serves it."""
    if jaeger.serves_v3():
        return jaeger.trace_v3(trace_id, _jaeger_otlp.spans)
    found = jaeger.trace(trace_id)
    return spans(found) if found else []


def search(
    jaeger: Jaeger,
    *,
    start_ns: int,
    end_ns: int,
    limit: int,
    service: str,
    operation: str | None = None,
    attributes: Mapping[str, str] | None = None,
    low_ns: int | None = None,
    high_ns: int | None = None,
    details: bool = True,
) -> list[list[Span]]:
    """The spans of each trace Jaeger finds with a span in [start_ns, end_ns) matching the
    filters, at most `limit` traces: through API v3 when this Jaeger serves it and no
    attribute is asked for (API v3 over HTTP takes no attribute filter), else through the
    classic API, which takes them as tags."""
    if not attributes and jaeger.serves_v3():
        return jaeger.find_v3(
            _jaeger_otlp.summaries if not details else _jaeger_otlp.traces,
            start_ns=start_ns,
            end_ns=max(end_ns - 1, 0),
            limit=limit,
            service=service,
            operation=operation,
            min_duration_ns=low_ns or None,
            max_duration_ns=high_ns,
        )
    found = []
    for raw in jaeger.find(
        start_us=start_ns // 1000,
        end_us=max(end_ns - 1, 0) // 1000,
        limit=limit,
        service=service,
        operation=operation,
        tags=dict(attributes) if attributes else None,
        min_duration_us=None if low_ns is None else -(-low_ns // 1000),
        max_duration_us=None if high_ns is None else high_ns // 1000,
    ):
        read = spans(raw, details)
        if read:
            found.append(read)
    return found


# ---------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Filter:
    """What a span must match for its trace to be found (all given fields)."""

    service: str | None = None
    operation: str | None = None
    low_ns: int | None = None
    high_ns: int | None = None
    status: str | None = None  # "error", "ok", "unset"
    attributes: tuple[tuple[str, str], ...] = ()
    start_ns: int = 0
    end_ns: int = 0

    def matches(self, s: Span) -> bool:
        return (
            self.start_ns <= s.start_ns < self.end_ns
            and (self.service is None or s.service == self.service)
            and (self.operation is None or s.operation == self.operation)
            and (self.low_ns is None or s.duration_ns >= self.low_ns)
            and (self.high_ns is None or s.duration_ns <= self.high_ns)
            and (self.status is None or s.status == self.status)
            and all(s.attributes.get(k) == v or s.resource.get(k) == v for k, v in self.attributes)
        )


def find(jaeger: Jaeger, wanted: Filter, limit: int, order: str, sample: int) -> list[list[Span]]:
    """The traces with a span matching `wanted`: the `limit` with the latest (``recent``)
    or longest (``slowest``) matching span, as the ClickHouse path ranks them.

    Jaeger filters what it can (service, operation, durations, attributes as tags); the
    match is then checked here on every span, so both backends mean the same. When Jaeger
    cannot rank as asked (slowest, or a status filter) up to `sample` traces are read, and
    without a service each service is searched (Jaeger's search requires one). The spans
    carry attributes and resource only when `wanted` filters on them (summaries need
    neither).
    """
    ranked_here = order == "slowest" or wanted.status is not None
    # Jaeger's search needs a service: without one, each service is searched in turn.
    services = [wanted.service] if wanted.service is not None else jaeger.services()
    traces: dict[str, list[Span]] = {}
    for service in services:
        for found in search(
            jaeger,
            start_ns=wanted.start_ns,
            end_ns=wanted.end_ns,
            limit=max(limit, sample) if ranked_here else limit,
            service=service,
            operation=wanted.operation,
            attributes=dict(wanted.attributes),
            low_ns=wanted.low_ns,
            high_ns=wanted.high_ns,
            details=bool(wanted.attributes),
        ):
            traces.setdefault(found[0].trace_id, found)
    keyed = []
    for found in traces.values():
        matching = [s for s in found if wanted.matches(s)]
        if not matching:
            continue
        if order == "slowest":
            key = max(s.duration_ns for s in matching)
        else:
            key = max(s.start_ns for s in matching)
        keyed.append((-key, found[0].trace_id if found else "", found))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [found for _, _, found in keyed[:limit]]


def summary(found: Sequence[Span]) -> dict[str, Any]:
    """One row of the search frame, as the ClickHouse path computes it."""
    roots = [s for s in found if not s.parent_span_id] or list(found)
    root = min(roots, key=lambda s: s.start_ns)
    start = min(s.start_ns for s in found)
    return {
        "trace_id": found[0].trace_id,
        "root_service": root.service,
        "root_operation": root.operation,
        "start": start,
        "duration_ms": (max(s.start_ns + s.duration_ns for s in found) - start) / 1e6,
        "spans": len(found),
        "errors": sum(s.status == "error" for s in found),
        "services": sorted({s.service for s in found}),
    }


# ---------------------------------------------------------------------------- figures


def bucket(duration_ns: int) -> int:
    """The log-spaced histogram bucket of a duration (`otel_tables.DURATION_BUCKET`)."""
    if duration_ns <= 1000:
        return 0
    return min(1 + floor(log10(duration_ns / 1000) * BUCKETS_PER_DECADE), 480)


@dataclass
class Sample:
    """Whole traces read from Jaeger for figures, and whether a service's traces were cut."""

    traces: dict[str, list[Span]] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)  # services with more traces than read

    def spans(self) -> Iterable[Span]:
        for found in self.traces.values():
            yield from found

    def describe(self, limit: int) -> dict[str, Any]:
        return {
            "percentiles": f"from a sample of {len(self.traces)} Jaeger traces "
            f"(at most {limit} per service)",
            "sampled_traces": len(self.traces),
            "sample_complete": not self.cut,
            "sample_cut_services": sorted(self.cut),
        }


def sample(
    jaeger: Jaeger, services: Iterable[str], start_ns: int, end_ns: int, limit: int
) -> Sample:
    """Up to `limit` whole traces of each service with a span in [start_ns, end_ns)."""
    taken = Sample()
    for service in services:
        traces = search(jaeger, start_ns=start_ns, end_ns=end_ns, limit=limit, service=service)
        if len(traces) >= limit:
            taken.cut.append(service)
        for found in traces:
            taken.traces.setdefault(found[0].trace_id, found)
    return taken


def red(
    spans_: Iterable[Span], keys: Callable[[Span], tuple[str, ...] | None], names: Sequence[str]
) -> list[dict[str, Any]]:
    """Calls, errors, error_rate and percentiles per key (spans whose key is None skipped)."""
    merged: dict[tuple[str, ...], list[Any]] = {}
    for s in spans_:
        key = keys(s)
        if key is None:
            continue
        entry = merged.setdefault(key, [0, 0, Counter()])
        entry[0] += 1
        entry[1] += s.status == "error"
        entry[2][bucket(s.duration_ns)] += 1
    rows = []
    for key in sorted(merged):
        calls, errors, histogram = merged[key]
        rows.append(
            {
                **dict(zip(names, key, strict=True)),
                "calls": calls,
                "errors": errors,
                "error_rate": errors / calls,
                "p50_ms": percentile(histogram, 0.5),
                "p95_ms": percentile(histogram, 0.95),
                "p99_ms": percentile(histogram, 0.99),
            }
        )
    return rows


def dependencies(spans_: Iterable[Span], start_ns: int, end_ns: int) -> list[dict[str, Any]]:
    """Caller -> callee pairs as the ClickHouse path joins them (see `Traces.dependencies`)."""
    import numpy as np

    by_parent: dict[tuple[str, str], list[Span]] = {}
    callers: list[Span] = []
    for s in spans_:
        if s.kind in ("server", "consumer") and s.start_ns >= start_ns:
            by_parent.setdefault((s.trace_id, s.parent_span_id), []).append(s)
        elif s.kind in ("client", "producer") and start_ns <= s.start_ns < end_ns:
            callers.append(s)
    pairs: dict[tuple[str, str], list[Any]] = {}
    for c in callers:
        callees: list[Span | None] = list(by_parent.get((c.trace_id, c.span_id), [])) or [None]
        for callee in callees:
            child = callee.service if callee is not None else c.attributes.get("peer.service", "")
            if not child:
                continue
            failed = c.status == "error" or (callee is not None and callee.status == "error")
            entry = pairs.setdefault((c.service, child), [0, 0, []])
            entry[0] += 1
            entry[1] += failed
            entry[2].append(c.duration_ns)
    return [
        {
            "parent": parent,
            "child": child,
            "calls": calls,
            "errors": errors,
            "p95_ms": float(np.quantile(np.array(durations, dtype=float), 0.95)) / 1e6,
        }
        for (parent, child), (calls, errors, durations) in sorted(pairs.items())
    ]
