"""One span of a Jaeger trace as the ClickHouse path reads it: the row both of Jaeger's
APIs (`_jaeger` for the classic one, `_jaeger_otlp` for API v3) are read into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The raw span columns, as `Traces._spans` reads them from ClickHouse.
RAW_COLUMNS = (
    "span_id", "parent_span_id", "service", "operation", "kind", "start_ns", "duration_ns",
    "status", "status_message", "attributes", "resource",
)  # fmt: skip


@dataclass(slots=True)
class Span:
    """One span of a Jaeger trace, in the ClickHouse path's terms."""

    trace_id: str
    span_id: str
    parent_span_id: str
    service: str
    operation: str
    kind: str  # internal, server, client, producer, consumer
    start_ns: int
    duration_ns: int
    status: str  # unset, ok, error
    status_message: str
    attributes: dict[str, str] = field(default_factory=dict)
    resource: dict[str, str] = field(default_factory=dict)


def raw_columns(found: Sequence[Span]) -> dict[str, list[Any]]:
    """The raw span rows of one trace as columns (those `Traces._spans` reads from ClickHouse)."""
    return {name: [getattr(s, name) for s in found] for name in RAW_COLUMNS}
