"""Log search on Elasticsearch or OpenSearch, as the same frame as the ClickHouse path.

Three document shapes are read, side by side in one index pattern:

- ``ecs``: Fluent Bit's ECS records and the Collector exporter's ``ecs`` mode
  (``message``, ``log.level``, ``service.name``, ``trace.id``, ``span.id``);
- ``raw``: the Collector exporter's ``raw`` and ``none`` modes (``Body``,
  ``SeverityText``, ``SeverityNumber``, ``Resource.service.name``, ``TraceId``,
  attributes at the root or under ``Attributes``);
- ``otel``: its ``otel`` mode (``body.text``, ``severity_number``, ``attributes``,
  ``resource.attributes``).

Each filter is a ``bool`` of the fields of those shapes that the indices have (asked once
per minute through ``_field_caps``), exact matches on their keyword field. Values go into
the query DSL as JSON values: ``term``/``terms``/``range`` for exact values and
``match_phrase`` for text, so Lucene's special characters are plain characters; nothing is
written in a query-string language. Results come newest first in pages of at most
`PAGE` through ``search_after``.
"""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hxb_lab.frames import gc_paused
from hxb_lab.telemetry.links import kql_phrase, lucene_phrase

if TYPE_CHECKING:
    from hxb_lab.clients.elasticsearch import Elasticsearch

__all__ = ["PAGE", "SHAPES", "Filters", "LogIndex", "search"]

#: Hits per request: Elasticsearch's default ``index.max_result_window``.
PAGE = 10_000
TIME = "@timestamp"
#: How long the indices' field list is reused before it is asked again.
FIELDS_TTL_S = 60.0
_EXACT = {
    "keyword", "constant_keyword", "wildcard", "date", "date_nanos", "long", "integer",
    "short", "byte", "unsigned_long", "boolean", "ip",
}  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """Where one document shape keeps each part of a log record."""

    name: str
    body: str
    severity_text: str
    severity_number: str | None
    service: str
    trace_id: str
    span_id: str
    attributes: tuple[str, ...]  # prefixes of log attributes ("" is the document's root)
    resource: tuple[str, ...]  # prefixes of resource attributes


SHAPES = (
    Shape("ecs", "message", "log.level", None, "service.name", "trace.id", "span.id",
          ("",), ()),
    Shape("raw", "Body", "SeverityText", "SeverityNumber", "Resource.service.name",
          "TraceId", "SpanId", ("Attributes.", ""), ("Resource.",)),
    Shape("otel", "body.text", "severity_text", "severity_number",
          "resource.attributes.service.name", "trace_id", "span_id", ("attributes.",),
          ("resource.attributes.",)),
)  # fmt: skip
#: ECS fields that describe where a record came from: its resource.
ECS_RESOURCE = (
    "service", "host", "cloud", "container", "kubernetes", "k8s", "orchestrator", "agent",
    "os", "deployment", "telemetry", "process",
)  # fmt: skip
#: Fields that are neither an attribute nor the resource (bookkeeping of the writers).
_META = {"@timestamp", "ecs", "data_stream", "ObservedTimestamp", "observed_timestamp",
         "TraceFlags", "trace_flags", "Scope", "scope", "dropped_attributes_count",
         "event.dataset"}  # fmt: skip
_ECS_RESOURCE = frozenset(ECS_RESOURCE)
#: Each shape's fields that make a column of their own (not an attribute).
_OWN = {
    s.name: frozenset({s.body, s.severity_text, s.service, s.trace_id, s.span_id,
                       s.severity_number or s.body, *_META})
    for s in SHAPES
}  # fmt: skip
#: For the shapes with a resource: its prefix, the nested attributes' prefix, and the
#: root objects that are neither (a root key outside them is an attribute in raw mode).
_PARTS = {
    s.name: (s.resource[0], s.attributes[0],
             (s.resource[0].split(".", 1)[0] + ".", s.attributes[0].split(".", 1)[0] + "."))
    for s in SHAPES if s.resource
}  # fmt: skip
#: The logs frame's columns, in the order `record` gives them.
COLUMNS = ("timestamp", "service", "severity", "body", "trace_id", "span_id", "attributes",
           "resource")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """What a search asks for (already checked): nanosecond bounds and exact values."""

    start_ns: int
    end_ns: int
    service: str | None = None
    level: int | None = None  # the lowest SeverityNumber
    levels: tuple[str, ...] = ()  # the severity texts of that level and above
    text: str | None = None
    trace_id: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


class LogIndex:
    """The fields an index pattern has (from ``_field_caps``), and the DSL over them."""

    def __init__(self, caps: Mapping[str, Any]) -> None:
        fields = caps.get("fields") or {}
        self.types: dict[str, set[str]] = {name: set(kinds) for name, kinds in fields.items()}
        self.indices: list[str] = list(caps.get("indices") or [])

    def exact(self, name: str) -> str | None:
        """The field that matches `name`'s whole value: itself when it is a keyword (or a
        number, a date), its ``.keyword`` sub-field when it is text; None when absent."""
        kinds = self.types.get(name, set())
        if kinds & _EXACT:
            return name
        if f"{name}.keyword" in self.types and self.types[f"{name}.keyword"] & _EXACT:
            return f"{name}.keyword"
        return None

    def present(self, *names: str | None) -> list[str]:
        return [n for n in dict.fromkeys(names) if n and n in self.types]

    def shapes(self) -> list[Shape]:
        """The shapes whose body or severity the indices have."""
        return [s for s in SHAPES if self.present(s.body, s.severity_text, s.trace_id)]

    def attribute_fields(self, key: str) -> list[str]:
        """The exact-match fields where the shapes present keep the attribute `key`: never
        a field that `record` reads as the body, service, severity, ids or resource."""
        names = dict.fromkeys(
            prefix + key
            for s in self.shapes()
            for prefix in s.attributes
            if prefix or _root_attribute(s, key)
        )
        return [e for e in (self.exact(n) for n in names) if e]

    # ---------------------------------------------------------------- the query DSL
    def query(self, f: Filters) -> dict[str, Any] | None:
        """The ``bool`` query of `f`; None when some filter names a field no index has
        (nothing can match, so nothing is asked)."""
        span = {"gte": _iso_ns(f.start_ns), "lt": _iso_ns(f.end_ns)}
        clauses: list[dict[str, Any]] = [
            {"range": {TIME: {**span, "format": "strict_date_optional_time_nanos"}}}
        ]
        shapes = self.shapes()
        wanted: list[dict[str, Any] | None] = []
        if f.service is not None:
            wanted.append(self._equal([s.service for s in shapes], f.service))
        if f.trace_id is not None:
            wanted.append(self._equal([s.trace_id for s in shapes], f.trace_id))
        if f.level is not None:
            wanted.append(self._severity(shapes, f.level, f.levels))
        if f.text is not None:
            bodies = self.present(*(s.body for s in shapes))
            phrases = [{"match_phrase": {b: {"query": f.text}}} for b in bodies]
            wanted.append(_any(phrases))
        for key, value in f.attributes:
            wanted.append(_any([{"term": {fd: value}} for fd in self.attribute_fields(key)]))
        if any(w is None for w in wanted):
            return None
        clauses += [w for w in wanted if w is not None]
        return {"bool": {"filter": clauses}}

    def _equal(self, names: list[str], value: str) -> dict[str, Any] | None:
        exact = [e for e in (self.exact(n) for n in names) if e]
        return _any([{"term": {e: value}} for e in dict.fromkeys(exact)])

    def _severity(self, shapes: list[Shape], level: int, levels: tuple[str, ...]) -> Any:
        numbers = self.present(*(s.severity_number for s in shapes))
        texts = [e for e in (self.exact(s.severity_text) for s in shapes) if e]
        spellings = sorted({v for t in levels for v in (t, t.lower(), t.capitalize())})
        options: list[dict[str, Any]] = [{"range": {n: {"gte": level}}} for n in numbers]
        unnumbered = [{"range": {n: {"gt": 0}}} for n in numbers]
        for text in texts:
            options.append(
                {"bool": {"filter": [{"terms": {text: spellings}}], "must_not": unnumbered}}
            )
        return _any(options)

    # ---------------------------------------------------------------- links
    def link_query(self, f: Filters, dialect: str) -> str:
        """The same search in Kibana's KQL (``"kql"``) or Lucene syntax (``"lucene"``),
        values inside quoted phrases, for the links into Kibana and Grafana."""
        phrase = kql_phrase if dialect == "kql" else lucene_phrase
        word_or, word_and = (" or ", " and ") if dialect == "kql" else (" OR ", " AND ")
        shapes = self.shapes()
        parts: list[str] = []

        def either(fields: list[str], values: list[str]) -> None:
            terms = [phrase(fd, v) for fd in fields for v in values]
            if terms:
                parts.append(terms[0] if len(terms) == 1 else "(" + word_or.join(terms) + ")")

        if f.service is not None:
            either(self.present(*(s.service for s in shapes)), [f.service])
        if f.trace_id is not None:
            either(self.present(*(s.trace_id for s in shapes)), [f.trace_id])
        if f.level is not None:
            numbers = self.present(*(s.severity_number for s in shapes))
            terms = [
                f"{n} >= {f.level}" if dialect == "kql" else f"{n}:>={f.level}" for n in numbers
            ]
            texts = self.present(*(s.severity_text for s in shapes))
            terms += [phrase(t, v) for t in texts for v in f.levels]
            if terms:
                parts.append("(" + word_or.join(terms) + ")")
        if f.text is not None:
            either(self.present(*(s.body for s in shapes)), [f.text])
        for key, value in f.attributes:
            fields = [fd.removesuffix(".keyword") for fd in self.attribute_fields(key)]
            either(fields, [value])
        return word_and.join(parts)


def _root_attribute(shape: Shape, key: str) -> bool:
    """Whether the field `key` at a document's root is a log attribute in `shape`."""
    if key in _OWN[shape.name]:
        return False
    if shape.name == "ecs":
        return key.partition(".")[0] not in _ECS_RESOURCE
    return not key.startswith(_PARTS[shape.name][2])


def _any(options: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not options:
        return None
    if len(options) == 1:
        return options[0]
    return {"bool": {"should": options, "minimum_should_match": 1}}


def _iso_ns(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest:09d}Z"


# -------------------------------------------------------------------- reading hits


def hits(
    client: Elasticsearch, index: str, query: dict[str, Any], limit: int
) -> Iterator[dict[str, Any]]:
    """The hits of `query`, newest first, at most `limit`, a page at a time.

    The next page starts at the last hit's timestamp again (``search_after`` one tick
    later) with the hits already seen at that timestamp excluded, so records that share a
    timestamp across a page boundary are neither lost nor repeated.
    """
    sort = [{TIME: {"order": "desc", "unmapped_type": "date"}}]
    after: list[Any] | None = None
    edge: list[str] = []
    left = limit
    while left > 0:
        size = min(left, PAGE)
        body: dict[str, Any] = {"size": size, "sort": sort, "track_total_hits": False}
        body["query"] = (
            {"bool": {"filter": [query], "must_not": [{"ids": {"values": edge}}]}}
            if edge
            else query
        )
        if after is not None:
            body["search_after"] = after
        page = (client.search(index, body).get("hits") or {}).get("hits") or []
        yield from page
        left -= len(page)
        if len(page) < size or not isinstance(page[-1].get("sort"), list):
            return
        last = page[-1]["sort"][0]
        if not isinstance(last, int):
            return
        same = [h["_id"] for h in page if h.get("sort", [None])[0] == last]
        edge = (edge if after == [last + 1] else []) + same
        after = [last + 1]


def _text(value: Any) -> str:
    """An attribute value as the OpenTelemetry exporters write it into a string map."""
    kind = type(value)
    if kind is str:
        return str(value)
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _flat(value: dict[str, Any], prefix: str, out: dict[str, str]) -> dict[str, str]:
    """Nested objects as one dict of dotted keys to string values (into `out`), whether
    the writer nested objects or wrote dotted keys."""
    for key, inner in value.items():
        if type(inner) is dict:
            _flat(inner, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = inner if type(inner) is str else _text(inner)
    return out


def _shape_of(doc: Mapping[str, Any]) -> Shape:
    if "Body" in doc or "SeverityText" in doc or "Resource" in doc or "TraceId" in doc:
        return SHAPES[1]
    if "severity_text" in doc or "severity_number" in doc or "resource" in doc:
        return SHAPES[2]
    return SHAPES[0]


@dataclass(frozen=True)
class Layout:
    """Where the values of documents with one set of flattened keys go, worked out once:
    `columns` gives (service, body, trace id, span id, severity text, severity number),
    "" for the ones absent, from the values with "" appended; `resource` and `attributes`
    are (name, position) pairs."""

    columns: Callable[[list[str]], tuple[str, ...]]
    resource: tuple[tuple[str, int], ...]
    attributes: tuple[tuple[str, int], ...]


def _layout(shape: Shape, keys: list[str]) -> Layout:
    """The `Layout` of a document of `shape` whose flattened keys are `keys`."""
    own = _OWN[shape.name]
    resource: list[tuple[str, int]] = []
    attributes: list[tuple[str, int]] = []
    if shape.name == "ecs":
        for at, key in enumerate(keys):
            if key.partition(".")[0] in _ECS_RESOURCE:
                resource.append((key, at))
            elif key not in own:
                attributes.append((key, at))
    else:
        res_prefix, nested, roots = _PARTS[shape.name]
        loose: list[tuple[str, int]] = []  # the attributes when none is nested (raw mode)
        for at, key in enumerate(keys):
            if key.startswith(res_prefix):
                resource.append((key[len(res_prefix) :], at))
            elif key in own:
                continue
            elif key.startswith(nested):
                attributes.append((key[len(nested) :], at))
            elif not key.startswith(roots):
                loose.append((key, at))
        if not attributes:
            attributes = loose
    where = {key: at for at, key in enumerate(keys)}
    wanted = (shape.service, shape.body, shape.trace_id, shape.span_id, shape.severity_text,
              shape.severity_number)  # fmt: skip
    columns = operator.itemgetter(*(where.get(k or "", len(keys)) for k in wanted))
    return Layout(columns, tuple(resource), tuple(attributes))


def _flat_doc(doc: dict[str, Any]) -> dict[str, str]:
    """`_flat` of a whole document, its first two levels unrolled (where nearly every
    value is: the exporters nest the resource and attributes one level down)."""
    out: dict[str, str] = {}
    for key, inner in doc.items():
        kind = type(inner)
        if kind is str:
            out[key] = inner
        elif kind is dict:
            prefix = key + "."
            for name, leaf in inner.items():
                if type(leaf) is str:
                    out[prefix + name] = leaf
                elif type(leaf) is dict:
                    _flat(leaf, f"{prefix}{name}.", out)
                else:
                    out[prefix + name] = _text(leaf)
        else:
            out[key] = _text(inner)
    return out


def record(doc: dict[str, Any], layouts: dict[tuple[str, ...], Layout]) -> tuple[Any, ...]:
    """One document as a row of the logs frame, in `COLUMNS` order (timestamp still as
    the writer gave it). `layouts` keeps the `Layout` of each set of keys seen (the
    documents of one writer share a few)."""
    shape = _shape_of(doc)
    flat = _flat_doc(doc)
    keys = (shape.name, *flat)
    layout = layouts.get(keys)
    if layout is None:
        layout = layouts[keys] = _layout(shape, list(flat))
    values = [*flat.values(), ""]
    service, body, trace_id, span_id, severity, number = layout.columns(values)
    if severity:
        severity = severity.upper()
    else:
        severity = _severity_name(float(number) if number.replace(".", "", 1).isdigit() else None)
    return (doc.get(TIME), service, severity, body, trace_id, span_id,
            {name: values[at] for name, at in layout.attributes},
            {name: values[at] for name, at in layout.resource})  # fmt: skip


def _severity_name(number: Any) -> str:
    if not isinstance(number, int | float) or isinstance(number, bool):
        return "TRACE"
    for floor, name in ((21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO"), (5, "DEBUG")):
        if number >= floor:
            return name
    return "TRACE"


def nanoseconds(values: Sequence[Any]) -> Any:
    """Writers' timestamps (ISO text with up to nanoseconds, or epoch milliseconds) as
    int64 nanoseconds since the epoch."""
    import numpy as np
    import pandas as pd

    if not values:
        return np.array([], dtype="int64")
    if all(type(v) is str and v.endswith("Z") for v in values):
        try:  # UTC text: numpy reads it without the "Z", in a third of pandas' time
            return np.array([v[:-1] for v in values], dtype="datetime64[ns]").view("int64")
        except ValueError:
            pass
    if all(type(v) is str for v in values):
        parsed = pd.to_datetime(list(values), utc=True, format="ISO8601")
        return parsed.as_unit("ns").asi8
    return np.array(
        [
            int(v) * 1_000_000
            if isinstance(v, int | float)
            else pd.Timestamp(v).tz_convert("UTC").value
            for v in values
        ],
        dtype="int64",
    )


def search(
    client: Elasticsearch, index: str, fields: LogIndex, filters: Filters, limit: int
) -> dict[str, Sequence[Any]]:
    """The log lines `filters` selects, newest first, as one list per column of `COLUMNS`
    (timestamps in nanoseconds) for the caller to type."""
    import numpy as np

    query = fields.query(filters)
    rows: list[tuple[Any, ...]] = []
    if query is not None:
        layouts: dict[tuple[str, ...], Layout] = {}
        with gc_paused():  # parsed JSON and rows are acyclic: the collector's passes are waste
            rows = [
                record(h.get("_source") or {}, layouts) for h in hits(client, index, query, limit)
            ]
    if not rows:
        return {name: [] for name in COLUMNS}
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    stamps = nanoseconds(columns[0])
    # The server orders by its own precision (milliseconds for a `date` field).
    if len(stamps) > 1 and not (stamps[:-1] >= stamps[1:]).all():
        order = np.argsort(-stamps, kind="stable")
        stamps = stamps[order]
        columns = [[column[i] for i in order] for column in columns]
    columns[0] = stamps
    return dict(zip(COLUMNS, columns, strict=True))
