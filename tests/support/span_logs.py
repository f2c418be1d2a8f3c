"""Log records for a set of SDK-made spans, as Fluent Bit writes them to Elasticsearch (ECS
field names): one line per server span, at its start, carrying its trace and span ids, so a
trace read from Jaeger finds its logs in OpenSearch. A failed span logs an error that says
the upstream timed out; the others log at info.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["TIMED_OUT", "ecs_logs"]

#: The words of every error line (the tour searches for them).
TIMED_OUT = "timed out"


def _iso(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 10**9, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 10**9:09d}Z"


def ecs_logs(spans: Iterable[ReadableSpan]) -> list[dict[str, Any]]:
    """One ECS document per server span of `spans`."""
    from opentelemetry.trace import SpanKind, StatusCode

    docs = []
    for s in spans:
        if s.kind != SpanKind.SERVER:
            continue
        assert s.context is not None and s.start_time is not None and s.end_time is not None
        failed = s.status.status_code == StatusCode.ERROR
        took = (s.end_time - s.start_time) / 1e6
        message = (
            f"{s.name}: upstream {TIMED_OUT} after {took:.1f} ms"
            if failed
            else f"{s.name}: served in {took:.1f} ms"
        )
        docs.append(
            {
                "@timestamp": _iso(s.start_time),
                "message": message,
                "log": {"level": "error" if failed else "info"},
                "service.name": str(s.resource.attributes["service.name"]),
                "trace.id": format(s.context.trace_id, "032x"),
                "span.id": format(s.context.span_id, "016x"),
            }
        )
    return docs
