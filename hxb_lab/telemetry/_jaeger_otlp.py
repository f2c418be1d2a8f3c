"""Traces of Jaeger's API v3 (OpenTelemetry's OTLP JSON) read into the span rows the
classic API gives (`_jaeger.spans`) and the ClickHouse path reads.

OTLP says what the classic API spells as derived tags: the span kind (1 internal, 2 server,
3 client, 4 producer, 5 consumer; none is internal) and the status code (1 ok, 2 error,
none unset) are fields, the service is the resource's ``service.name``. Times are
nanoseconds. Attribute values become text as the classic API's JSON does and the
ClickHouse exporter writes them: ints and doubles as their JSON numbers, bools as
``true``/``false``, arrays and maps as Go's compact JSON (map keys sorted, ``<>&``
escaped), bytes as base64. Each span is read in one pass over its fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hxb_lab.telemetry._jaeger_span import Span

#: OTLP span kinds (protobuf JSON writes the number; the name is accepted too).
KINDS: dict[Any, str] = {
    1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer",
    "SPAN_KIND_INTERNAL": "internal", "SPAN_KIND_SERVER": "server",
    "SPAN_KIND_CLIENT": "client", "SPAN_KIND_PRODUCER": "producer",
    "SPAN_KIND_CONSUMER": "consumer",
}  # fmt: skip
#: OTLP status codes (unset is left out of the JSON).
STATUSES: dict[Any, str] = {
    1: "ok",
    2: "error",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
}
#: What Go's JSON encoder escapes besides what Python's does.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def traces(result: Mapping[str, Any], details: bool = True) -> list[list[Span]]:
    """The spans of each trace of an API v3 answer, trace by trace in the answer's order.

    Without `details` the spans' attributes and resource are left empty: what a search
    summary needs is read, and nothing else.
    """
    found: dict[str, list[Span]] = {}
    kinds, statuses, text, span = KINDS, STATUSES, _text, Span
    for group in result.get("resourceSpans") or ():
        service = ""
        resource: dict[str, str] = {}
        for attribute in (group.get("resource") or {}).get("attributes") or ():
            key = attribute.get("key", "")
            if not details and key != "service.name":
                continue  # a summary needs the service only
            value = attribute.get("value") or {}
            shown = value.get("stringValue")
            if shown is None:
                shown = text(value)
            if key == "service.name":
                service = shown
            resource[key] = shown
        resource["service.name"] = service
        last, spans = None, []
        for scope in group.get("scopeSpans") or ():
            for raw in scope.get("spans") or ():
                get = raw.get
                attributes: dict[str, str] = {}
                if details:
                    for attribute in get("attributes") or ():
                        value = attribute.get("value") or {}
                        shown = value.get("stringValue")
                        attributes[attribute.get("key", "")] = (
                            text(value) if shown is None else shown
                        )
                status = get("status")
                if status:
                    code = statuses.get(status.get("code"), "unset")
                    message = status.get("message", "")
                else:
                    code, message = "unset", ""
                trace_id = get("traceId", "")
                start = int(get("startTimeUnixNano", 0))
                if trace_id != last:  # a trace's spans come together: look it up once
                    last, spans = trace_id, found.setdefault(trace_id, [])
                spans.append(
                    span(
                        trace_id,
                        get("spanId", ""),
                        get("parentSpanId", ""),
                        service,
                        get("name", ""),
                        kinds.get(get("kind"), "internal"),
                        start,
                        int(get("endTimeUnixNano", 0)) - start,
                        code,
                        message,
                        attributes,
                        dict(resource) if details else {},  # each span its own, as in ClickHouse
                    )
                )
    return list(found.values())


def summaries(result: Mapping[str, Any]) -> list[list[Span]]:
    """The spans of each trace without their attributes and resource (`traces`)."""
    return traces(result, details=False)


def spans(result: Mapping[str, Any]) -> list[Span]:
    """The spans of the one trace of an API v3 answer (none when it is empty)."""
    found = traces(result)
    return found[0] if found else []


def _text(value: Mapping[str, Any]) -> str:
    """An attribute value that is not a string, as text (see the module's note)."""
    for kind, item in value.items():
        if kind == "boolValue":
            return "true" if item else "false"
        if kind in ("intValue", "doubleValue", "bytesValue", "stringValue"):
            return str(item)
        if kind in ("arrayValue", "kvlistValue"):
            return _go_json(_plain(value))
    return ""


def _plain(value: Mapping[str, Any]) -> Any:
    """An OTLP value as the Python value it holds (doubles as float, ints as int)."""
    for kind, item in value.items():
        if kind == "stringValue" or kind == "bytesValue":
            return str(item)
        if kind == "boolValue":
            return bool(item)
        if kind == "intValue":
            return int(item)
        if kind == "doubleValue":
            return float(item)
        if kind == "arrayValue":
            return [_plain(v) for v in (item or {}).get("values") or ()]
        if kind == "kvlistValue":
            return {
                str(kv.get("key", "")): _plain(kv.get("value") or {})
                for kv in (item or {}).get("values") or ()
            }
    return None


def _go_json(value: Any) -> str:
    """`value` as Go's ``json.Marshal`` writes it (how Jaeger and the ClickHouse exporter
    turn an array or map attribute into text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_GO_ESCAPES)
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    return "{" + ",".join(f"{_go_json(str(k))}:{_go_json(value[k])}" for k in sorted(value)) + "}"


def _go_float(value: float) -> str:
    """A double as Go's JSON encoder writes it: the shortest digits, positional between
    1e-6 and 1e21, else exponent form without a leading zero in the exponent."""
    shown = repr(value)
    if value != value or value in (float("inf"), float("-inf")):
        return shown
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        if "e" in shown:
            shown = format(Decimal(shown), "f")
        return shown.removesuffix(".0")
    if shown[-4:-1] == "e-0":
        shown = shown[:-2] + shown[-1]
    return shown
