"""`wb.traces`: OpenTelemetry traces from the exporter's ``otel_traces`` table, or from
Jaeger's query service when the profile has a ``jaeger`` section (the same frames either
way; see `hxb_lab.telemetry._jaeger` for how figures are computed from Jaeger's traces).

RED figures per service and operation, trace search, one trace as a waterfall with its
critical path, and the service dependency graph from client->server span pairs. Times
default to the last hour before `wb.now()`; see `hxb_lab.times` for the forms
`start` and `end` accept. An unknown service or trace gives an empty frame, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab import checks
from hxb_lab.errors import ParameterError
from hxb_lab.telemetry import _jaeger, _jaeger_span, _jaeger_spm, _sql
from hxb_lab.telemetry._facade import Facade
from hxb_lab.telemetry._red import red
from hxb_lab.telemetry._waterfall import critical_path, layout
from hxb_lab.telemetry.links import trace_link
from hxb_lab.times import time_range

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Traces"]

_RED = {
    "calls": "int",
    "errors": "int",
    "error_rate": "float",
    "p50_ms": "float",
    "p95_ms": "float",
    "p99_ms": "float",
    "percentile_source": "str",
}
SERVICES = {"service": "str", **_RED}
OPERATIONS = {"operation": "str", "kind": "str", **_RED}
#: `percentile_source` of the ClickHouse path: every span of the range.
EVERY_SPAN = "spans"
SEARCH = {
    "trace_id": "str",
    "root_service": "str",
    "root_operation": "str",
    "start": "ts",
    "duration_ms": "float",
    "spans": "int",
    "errors": "int",
    "services": "object",
    "link": "str",
}
SPANS = {
    "span_id": "str",
    "parent_span_id": "str",
    "service": "str",
    "operation": "str",
    "kind": "str",
    "start": "ts",
    "offset_ms": "float",
    "duration_ms": "float",
    "self_time_ms": "float",
    "depth": "int",
    "status": "str",
    "status_message": "str",
    "attributes": "object",
    "resource": "object",
}
CRITICAL = {**SPANS, "critical_ms": "float"}
DEPENDENCIES = {"parent": "str", "child": "str", "calls": "int", "errors": "int", "p95_ms": "float"}

#: The longest span duration a search may name (100 years), in milliseconds.
MAX_DURATION_MS = 36_500 * 86_400_000
#: Searches gather the whole of each matching trace from this far around the range.
SEARCH_MARGIN_NS = 10 * 60 * 10**9
#: search(order=...): which matching traces fill the limit, and how the frame is sorted.
SEARCH_ORDERS = {
    "recent": ("max(Timestamp) DESC", "start DESC"),
    "slowest": ("max(Duration) DESC", "duration_ms DESC"),
}


class Traces(Facade):
    """OpenTelemetry traces: service and operation RED figures, search, one trace, deps."""

    def services(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Calls, errors and latency percentiles per service, from server and consumer spans.

        Percentiles come from a duration histogram of log-spaced buckets (within 6 %), read
        from the per-minute rollup where the store has one (see `hxb_lab.telemetry._red`).
        On a Jaeger profile they come from Jaeger's span metrics (SPM) or a sample of
        traces; `percentile_source` says which on every row (``spans``: every span of the
        range; ``spm``; ``sample``), and ``attrs["percentiles"]`` says how precise.
        Columns: service, calls, errors, error_rate, p50_ms, p95_ms, p99_ms,
        percentile_source.
        """

        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        if self._ctx.profile.jaeger is not None:
            return self._jaeger_red(None, ("server", "consumer"), start_ns, end_ns)
        store = _sql.store(self._ctx)
        frame = red(store, "service", ("server", "consumer"), "1", {}, start_ns, end_ns)
        return _described(frame, SERVICES)

    def operations(
        self,
        service: str,
        start: Any = None,
        end: Any = None,
        kinds: str | tuple[str, ...] = ("server", "consumer"),
    ) -> pd.DataFrame:
        """The same figures per operation (span name) of one service.

        `kinds` picks the span kinds counted (default server and consumer spans; ``"all"``
        for every kind, e.g. a model's internal ``infer`` step). Columns: operation, kind,
        calls, errors, error_rate, p50_ms, p95_ms, p99_ms, percentile_source (as in
        `services`).
        """

        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        if not isinstance(service, str) or not service:
            raise ParameterError([f"service: expected a service name, got {service!r}"])
        wanted = (
            ("server", "client", "internal", "producer", "consumer")
            if kinds == "all"
            else _sql.names(kinds, "kinds")
        )
        if self._ctx.profile.jaeger is not None:
            _sql.kind_filter(wanted)  # the same refusal of an unknown kind
            return self._jaeger_red(service, tuple(wanted), start_ns, end_ns)
        where, params = "ServiceName = {service:String}", {"service": service}
        frame = red(_sql.store(self._ctx), "operation", wanted, where, params, start_ns, end_ns)
        return _described(frame, OPERATIONS)

    def _jaeger_red(
        self, service: str | None, kinds: tuple[str, ...], start_ns: int, end_ns: int
    ) -> pd.DataFrame:
        """Services (`service` None) or one service's operations from Jaeger's span metrics
        when the profile's ``jaeger.metrics`` allows, else from a sample of traces."""
        config = self._ctx.profile.jaeger
        assert config is not None
        jaeger = _jaeger.client(self._ctx)
        wanted = {k.lower().removeprefix("span_kind_") for k in kinds}
        schema = SERVICES if service is None else OPERATIONS
        spm = _jaeger_spm.figures(jaeger, config.metrics, service, sorted(wanted), start_ns, end_ns)
        if spm.rows is not None:
            frame = _sql.typed(_frame(spm.rows).assign(percentile_source=_jaeger_spm.SPM), schema)
            frame.attrs.update(spm.attrs)
            return frame
        names = jaeger.services() if service is None else [service]
        taken = _jaeger.sample(jaeger, names, start_ns, end_ns, config.sample_traces)

        def key(s: _jaeger_span.Span) -> tuple[str, ...] | None:
            if s.kind not in wanted or not start_ns <= s.start_ns < end_ns:
                return None
            if service is None:
                return (s.service,)
            return (s.operation, s.kind) if s.service == service else None

        by = ("service",) if service is None else ("operation", "kind")
        rows = _jaeger.red(taken.spans(), key, by)
        frame = _sql.typed(_frame(rows).assign(percentile_source=_jaeger_spm.SAMPLE), schema)
        frame.attrs.update(taken.describe(config.sample_traces))
        frame.attrs.update(spm.attrs)
        return frame

    def search(
        self,
        service: str | None = None,
        operation: str | None = None,
        min_duration_ms: float | None = None,
        max_duration_ms: float | None = None,
        status: str | None = None,
        attributes: Mapping[str, str] | None = None,
        start: Any = None,
        end: Any = None,
        limit: int = 100,
        order: str = "recent",
    ) -> pd.DataFrame:
        """Traces with a span matching every filter given: the `limit` most recent first, or
        with ``order="slowest"`` the `limit` whose matching span took longest, slowest first
        (over the whole range, not only its newest traces).

        A span matches when its service, operation, status (``"error"``, ``"ok"``,
        ``"unset"``), duration and span or resource attributes all match, as in Jaeger.
        On a Jaeger profile, which recent traces fill the limit is Jaeger's choice (its
        newest first); ``order="slowest"`` and `status` rank up to ``jaeger.sample_traces``.
        Columns: trace_id, root_service, root_operation, start, duration_ms, spans, errors,
        services (the sorted list of services in the trace), link (the trace in the Jaeger
        UI, else in Grafana Explore, when the profile names them; else "").
        """
        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        _sql.check_limit(limit, maximum=10_000)
        if order not in SEARCH_ORDERS:
            raise ParameterError(
                [f"order: {order!r} is not one of {', '.join(map(repr, SEARCH_ORDERS))}"]
            )
        chosen, shown = SEARCH_ORDERS[order]
        where = [_sql.time_filter()]
        params: dict[str, Any] = {
            "start": start_ns,
            "end": end_ns,
            "wide_start": start_ns - SEARCH_MARGIN_NS,
            "wide_end": end_ns + SEARCH_MARGIN_NS,
            "limit": limit,
        }
        if service is not None:
            where.append("ServiceName = {service:String}")
            params["service"] = _sql.text(service, "service")
        if operation is not None:
            where.append("SpanName = {operation:String}")
            params["operation"] = _sql.text(operation, "operation")
        low = _duration(min_duration_ms, "min_duration_ms")
        high = _duration(max_duration_ms, "max_duration_ms")
        if low is not None and high is not None and high < low:
            raise ParameterError(
                [
                    f"max_duration_ms ({max_duration_ms}) is below min_duration_ms ({min_duration_ms})"
                ]
            )
        if low is not None:
            where.append("Duration >= {low:UInt64}")
            params["low"] = low
        if high is not None:
            where.append("Duration <= {high:UInt64}")
            params["high"] = high
        if status is not None:
            where.append("StatusCode IN {statuses:Array(String)}")
            params["statuses"] = list(_sql.status_values(_sql.text(status, "status")))
        if attributes is not None and not isinstance(attributes, Mapping):
            raise ParameterError(
                [
                    f"attributes: expected a mapping of name to value, got {type(attributes).__name__}"
                ]
            )
        if self._ctx.profile.jaeger is not None:
            return self._jaeger_search(
                params, service, operation, low, high, status, attributes, order
            )
        for i, (key, value) in enumerate((attributes or {}).items()):
            where.append(
                f"(SpanAttributes[{{ak{i}:String}}] = {{av{i}:String}} "
                f"OR ResourceAttributes[{{ak{i}:String}}] = {{av{i}:String}})"
            )
            params[f"ak{i}"], params[f"av{i}"] = (
                _sql.text(key, "attributes"),
                _sql.text(value, "attributes"),
            )
        sql = f"""
            SELECT TraceId AS trace_id,
                countIf(ParentSpanId = '') > 0 AS rooted,
                if(rooted, argMinIf(ServiceName, Timestamp, ParentSpanId = ''),
                   argMin(ServiceName, Timestamp)) AS root_service,
                if(rooted, argMinIf(SpanName, Timestamp, ParentSpanId = ''),
                   argMin(SpanName, Timestamp)) AS root_operation,
                min(toUnixTimestamp64Nano(Timestamp)) AS start,
                (max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) - start) / 1e6
                    AS duration_ms,
                count() AS spans, countIf({_sql.IS_ERROR}) AS errors,
                arraySort(groupUniqArray(toString(ServiceName))) AS services
            FROM ${{traces}}
            WHERE Timestamp >= fromUnixTimestamp64Nano({{wide_start:Int64}}, 'UTC')
              AND Timestamp < fromUnixTimestamp64Nano({{wide_end:Int64}}, 'UTC')
              AND TraceId IN (
                SELECT TraceId FROM ${{traces}} WHERE {" AND ".join(where)}
                GROUP BY TraceId ORDER BY {chosen}, TraceId LIMIT {{limit:UInt32}})
            GROUP BY TraceId
            ORDER BY {shown}, trace_id"""
        span = (params["wide_start"], params["wide_end"])
        return self._linked(_sql.store(self._ctx).frame(sql, params, span=span))

    def _linked(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The search frame with each trace's link (Jaeger UI, else Grafana Explore)."""
        frame = frame.assign(
            link=self._links(
                list(frame.get("trace_id", [])),
                [int(s) for s in frame["start"]] if len(frame) else [],
                list(frame.get("duration_ms", [])),
            )
        )
        return _sql.typed(frame, SEARCH)

    def _links(
        self, trace_ids: list[str], starts: list[int], durations_ms: list[float]
    ) -> list[str]:
        """Each trace's link, over its own time (start and duration)."""
        return [
            trace_link(self._ctx.profile, str(t), s, s + int(d * 1e6))
            for t, s, d in zip(trace_ids, starts, durations_ms, strict=True)
        ]

    def _jaeger_search(
        self,
        params: Mapping[str, Any],
        service: str | None,
        operation: str | None,
        low: int | None,
        high: int | None,
        status: str | None,
        attributes: Mapping[str, str] | None,
        order: str,
    ) -> pd.DataFrame:
        config = self._ctx.profile.jaeger
        assert config is not None
        wanted = _jaeger.Filter(
            service=service,
            operation=operation,
            low_ns=low,
            high_ns=high,
            status=None if status is None else _sql.status_values(status)[0].lower(),
            attributes=tuple(
                (_sql.text(k, "attributes"), _sql.text(v, "attributes"))
                for k, v in (attributes or {}).items()
            ),
            start_ns=params["start"],
            end_ns=params["end"],
        )
        found = _jaeger.find(
            _jaeger.client(self._ctx), wanted, params["limit"], order, config.sample_traces
        )
        rows = [_jaeger.summary(spans) for spans in found]
        shown = SEARCH_ORDERS[order][1].split()[0]  # "start" or "duration_ms", descending
        rows.sort(key=lambda r: r["trace_id"])
        rows.sort(key=lambda r: r[shown], reverse=True)  # stable: ties stay by trace id
        columns: dict[str, list[Any]] = {
            name: [r[name] for r in rows] for name in SEARCH if name != "link"
        }
        columns["link"] = self._links(columns["trace_id"], columns["start"], columns["duration_ms"])
        return _sql.typed_lists(columns, SEARCH)

    def _spans(self, trace_id: str) -> dict[str, list[Any]]:
        """The raw rows of one trace as columns, bounded in time by the trace-id lookup table."""
        trace_id = _sql.text(trace_id, "trace_id").strip().lower()
        if self._ctx.profile.jaeger is not None:
            found = _jaeger.trace(_jaeger.client(self._ctx), trace_id) if trace_id else []
            return _jaeger_span.raw_columns(found)
        store = _sql.store(self._ctx)
        first, last, found = store.rows(
            "SELECT toUnixTimestamp(min(Start)), toUnixTimestamp(max(End)), count() "
            "FROM ${traces_trace_id_ts} WHERE TraceId = {id:String}",
            {"id": trace_id},
        )[0]
        params: dict[str, Any] = {"id": trace_id}
        bounded, span = "", None
        if found:
            bounded = (
                " AND Timestamp >= fromUnixTimestamp64Nano({start:Int64}, 'UTC')"
                " AND Timestamp < fromUnixTimestamp64Nano({end:Int64}, 'UTC')"
            )
            params.update(start=int(first) * 10**9, end=(int(last) + 1) * 10**9)
            span = (params["start"], params["end"])
        sql = f"""
            SELECT SpanId AS span_id, ParentSpanId AS parent_span_id, ServiceName AS service,
                SpanName AS operation, {_sql.KIND_NAME} AS kind,
                toUnixTimestamp64Nano(Timestamp) AS start_ns, toInt64(Duration) AS duration_ns,
                {_sql.STATUS_NAME} AS status, StatusMessage AS status_message,
                SpanAttributes AS attributes, ResourceAttributes AS resource
            FROM ${{traces}}
            WHERE TraceId = {{id:String}}{bounded}"""
        return columns_of(store.frame(sql, params, span=span))

    def get(self, trace_id: str) -> pd.DataFrame:
        """One trace, one row per span, in waterfall order (depth first, children by start).

        Columns: span_id, parent_span_id, service, operation, kind, start, offset_ms,
        duration_ms, self_time_ms (minus time covered by children), depth, status,
        status_message, attributes (span attributes), resource (resource attributes).
        """
        return _sql.typed_lists(waterfall(self._spans(trace_id)), SPANS)

    def critical_path(self, trace_id: str) -> pd.DataFrame:
        """The spans on the trace's critical path, with the time each contributes to it.

        Columns: those of `get`, plus critical_ms.
        """

        raw = self._spans(trace_id)
        path = critical_path(
            raw["span_id"], raw["parent_span_id"], raw["start_ns"], raw["duration_ns"]
        )
        rows = waterfall(raw)
        kept = [i for i, span_id in enumerate(rows["span_id"]) if span_id in path]
        columns = {name: [rows[name][i] for i in kept] for name in SPANS}
        columns["critical_ms"] = [path[s] / 1e6 for s in columns["span_id"]]
        return _sql.typed_lists(columns, CRITICAL)

    def dependencies(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Which service calls which: client (or producer) spans joined to the server (or
        consumer) spans they caused; a call that never reached a server counts for the
        service its ``peer.service`` attribute names.

        Columns: parent, child, calls, errors, p95_ms (of the caller's span).
        """
        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        config = self._ctx.profile.jaeger
        if config is not None:
            jaeger = _jaeger.client(self._ctx)
            taken = _jaeger.sample(
                jaeger, jaeger.services(), start_ns, end_ns, config.sample_traces
            )
            rows = _jaeger.dependencies(taken.spans(), start_ns, end_ns)
            deps = _sql.typed(_frame(rows), DEPENDENCIES)
            deps.attrs.update(taken.describe(config.sample_traces))
            return deps
        caller = _sql.kind_filter(("client", "producer"))
        callee = _sql.kind_filter(("server", "consumer"))
        sql = f"""
            SELECT c.service AS parent,
                if(s.service != '', s.service, c.peer) AS child,
                count() AS calls,
                countIf(c.failed OR s.failed) AS errors,
                quantile(0.95)(c.Duration) / 1e6 AS p95_ms
            FROM (
                SELECT TraceId, SpanId, toString(ServiceName) AS service, Duration,
                    SpanAttributes['peer.service'] AS peer, {_sql.IS_ERROR} AS failed
                FROM ${{traces}} WHERE {_sql.time_filter()} AND {caller}
            ) AS c
            LEFT JOIN (
                SELECT TraceId, ParentSpanId, toString(ServiceName) AS service,
                    {_sql.IS_ERROR} AS failed
                FROM ${{traces}}
                WHERE Timestamp >= fromUnixTimestamp64Nano({{start:Int64}}, 'UTC')
                  AND Timestamp < fromUnixTimestamp64Nano({{wide_end:Int64}}, 'UTC')
                  AND {callee}
            ) AS s ON c.TraceId = s.TraceId AND c.SpanId = s.ParentSpanId
            WHERE child != ''
            GROUP BY parent, child ORDER BY parent, child"""
        params = {"start": start_ns, "end": end_ns, "wide_end": end_ns + SEARCH_MARGIN_NS}
        frame = _sql.store(self._ctx).frame(sql, params, span=(start_ns, params["wide_end"]))
        return _sql.typed(frame, DEPENDENCIES)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows)


def _described(frame: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """A figures frame that says where its percentiles come from (as the Jaeger path does)."""
    frame = _sql.typed(frame.assign(percentile_source=EVERY_SPAN), schema)
    frame.attrs["percentile_source"] = EVERY_SPAN
    frame.attrs["percentiles"] = "from every span in the range (histogram, within 6 %)"
    return frame


def _duration(value: float | None, field: str) -> int | None:
    """A duration filter in ms as whole nanoseconds."""
    if value is None:
        return None
    return int(checks.number(value, field, minimum=0, maximum=MAX_DURATION_MS) * 1e6)


def columns_of(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The raw span rows of a store's frame as Python lists, one per column."""
    return {
        name: frame[name].tolist() if name in frame else [] for name in _jaeger_span.RAW_COLUMNS
    }


def waterfall(raw: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """One trace's raw span columns as the columns of `SPANS`, in waterfall order."""
    starts = [int(x) for x in raw["start_ns"]]
    durations = [int(x) for x in raw["duration_ns"]]
    shape = layout(list(raw["span_id"]), list(raw["parent_span_id"]), starts, durations)
    first = min(starts, default=0)
    columns = {
        **{name: list(raw[name]) for name in SPANS if name in raw},
        "start": starts,
        "offset_ms": [(s - first) / 1e6 for s in starts],
        "duration_ms": [d / 1e6 for d in durations],
        "self_time_ms": [n / 1e6 for n in shape["self_ns"]],
        "depth": shape["depth"],
    }
    order = shape["order"]
    return {name: [columns[name][i] for i in order] for name in SPANS}
