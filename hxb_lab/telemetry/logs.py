"""`wb.logs`: OpenTelemetry logs from the ClickHouse exporter's ``otel_logs`` table, or
from Elasticsearch/OpenSearch indices (`hxb_lab.telemetry._logs_es`), as one frame.

A profile with an ``elasticsearch`` section searches it; otherwise ClickHouse answers.
``source=`` picks one explicitly (a profile may have both). Searches on Elasticsearch
carry links to Kibana Discover and Grafana Explore in ``frame.attrs["links"]`` when the
profile configures them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab.clients.elasticsearch import open_elasticsearch
from hxb_lab.errors import ParameterError
from hxb_lab.telemetry import _logs_es, _sql
from hxb_lab.telemetry._facade import Facade
from hxb_lab.telemetry.links import attach, grafana_explore, kibana_discover
from hxb_lab.times import time_range

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.elasticsearch import Elasticsearch
    from hxb_lab.context import Context

__all__ = ["SEVERITIES", "SOURCES", "Logs"]

SOURCES = ("elasticsearch", "clickhouse")

#: Severity names and the lowest OpenTelemetry SeverityNumber of each.
SEVERITIES = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
_ALIASES = {"warning": "warn", "err": "error", "critical": "fatal"}
LOGS = {
    "timestamp": "ts",
    "service": "str",
    "severity": "str",
    "body": "str",
    "trace_id": "str",
    "span_id": "str",
    "attributes": "object",
    "resource": "object",
}


def _level(severity: str) -> tuple[int, list[str]]:
    """The lowest severity number of `severity`, and the texts of it and every level above."""
    key = severity.strip().lower() if isinstance(severity, str) else ""
    key = _ALIASES.get(key, key)
    if key not in SEVERITIES:
        raise ParameterError(
            [f"severity: {severity!r} is not a log level (use one of {', '.join(SEVERITIES)})"]
        )
    number = SEVERITIES[key]
    names = [n for n, v in SEVERITIES.items() if v >= number]
    names += [a for a, n in _ALIASES.items() if n in names]
    return number, [s.upper() for s in names]


def _attributes(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ParameterError(
            [f"attributes: expected a dict of attribute names to values, got {value!r:.60}"]
        )
    pairs = [
        (_sql.text(k, "attributes (a name)"), _sql.text(v, f"attributes[{k!r:.40}]"))
        for k, v in value.items()
    ]
    return tuple(sorted(pairs))


class Logs(Facade):
    """OpenTelemetry logs, searchable and correlated with traces."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._fields: tuple[float, _logs_es.LogIndex] | None = None

    def source(self, source: str | None = None) -> str:
        """Where a search runs: `source`, else Elasticsearch when the profile has it, else
        ClickHouse."""
        if source is None:
            return "elasticsearch" if self._ctx.profile.elasticsearch else "clickhouse"
        if not isinstance(source, str) or source not in SOURCES:
            raise ParameterError([f"source: {source!r} is not one of {', '.join(SOURCES)}"])
        return source

    def _elasticsearch(self) -> Elasticsearch:
        client: Elasticsearch = self._ctx.clients.get("elasticsearch", open_elasticsearch)
        return client

    def fields(self) -> _logs_es.LogIndex:
        """The fields of the profile's log indices (asked again after a minute)."""
        now = time.monotonic()
        if self._fields is None or now - self._fields[0] > _logs_es.FIELDS_TTL_S:
            config = self._ctx.profile.elasticsearch
            index = config.index if config else ""
            caps = self._elasticsearch().field_caps(index)
            self._fields = (now, _logs_es.LogIndex(caps))
        return self._fields[1]

    def search(
        self,
        service: str | None = None,
        severity: str | None = None,
        text: str | None = None,
        trace_id: str | None = None,
        start: Any = None,
        end: Any = None,
        limit: int = 1000,
        attributes: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Log lines, newest first.

        `severity` is a minimum level (``"warn"`` gives warnings, errors and fatals); `text`
        is matched literally, case-insensitively: a substring of the body on ClickHouse, a
        phrase (whole words in order) on Elasticsearch; `trace_id` gives the lines of one
        trace; `attributes` maps log attribute names to the values they must have.
        Columns: timestamp, service, severity (upper case), body, trace_id, span_id,
        attributes (log attributes), resource (resource attributes).
        """
        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        _sql.check_limit(limit)
        pairs = _attributes(attributes)
        if self.source(source) == "elasticsearch":
            return self._search_elasticsearch(
                _logs_es.Filters(
                    start_ns,
                    end_ns,
                    service=None if service is None else _sql.text(service, "service"),
                    text=None if text is None else _sql.text(text, "text"),
                    trace_id=None
                    if trace_id is None
                    else _sql.text(trace_id, "trace_id").strip().lower(),
                    attributes=pairs,
                    **({} if severity is None else _levels(severity)),
                ),
                limit,
            )
        where = [_sql.time_filter()]
        params: dict[str, Any] = {"start": start_ns, "end": end_ns, "limit": limit}
        if service is not None:
            where.append("ServiceName = {service:String}")
            params["service"] = _sql.text(service, "service")
        if severity is not None:
            number, names = _level(severity)
            where.append(
                "(SeverityNumber >= {level:UInt8} OR (SeverityNumber = 0 "
                "AND upper(SeverityText) IN {levels:Array(String)}))"
            )
            params.update(level=number, levels=names)
        if text is not None:
            where.append("positionCaseInsensitiveUTF8(Body, {text:String}) > 0")
            params["text"] = _sql.text(text, "text")
        if trace_id is not None:
            where.append("TraceId = {trace_id:String}")
            params["trace_id"] = _sql.text(trace_id, "trace_id").strip().lower()
        for i, (key, value) in enumerate(pairs):
            where.append(f"LogAttributes[{{ak{i}:String}}] = {{av{i}:String}}")
            params.update({f"ak{i}": key, f"av{i}": value})
        sql = f"""
            SELECT toUnixTimestamp64Nano(Timestamp) AS timestamp, ServiceName AS service,
                upper(if(SeverityText != '', SeverityText, multiIf(
                    SeverityNumber >= 21, 'FATAL', SeverityNumber >= 17, 'ERROR',
                    SeverityNumber >= 13, 'WARN', SeverityNumber >= 9, 'INFO',
                    SeverityNumber >= 5, 'DEBUG', 'TRACE'))) AS severity,
                Body AS body, TraceId AS trace_id, SpanId AS span_id,
                LogAttributes AS attributes, ResourceAttributes AS resource
            FROM ${{logs}}
            WHERE {" AND ".join(where)}
            ORDER BY Timestamp DESC LIMIT {{limit:UInt32}}"""
        frame = _sql.store(self._ctx).frame(sql, params, span=(start_ns, end_ns))
        return _sql.typed(frame, LOGS)

    def _search_elasticsearch(self, filters: _logs_es.Filters, limit: int) -> pd.DataFrame:
        config = self._ctx.profile.elasticsearch
        index = config.index if config else ""
        fields = self.fields()
        columns = _logs_es.search(self._elasticsearch(), index, fields, filters, limit)
        typed = _sql.typed_lists(columns, LOGS)
        start, end = filters.start_ns, filters.end_ns
        grafana = grafana_explore(
            self._ctx.profile.grafana,
            "elasticsearch",
            {
                "query": fields.link_query(filters, "lucene"),
                "metrics": [{"type": "logs", "id": "1"}],
                "timeField": _logs_es.TIME,
            },
            start,
            end,
        )
        kibana = kibana_discover(config, fields.link_query(filters, "kql"), start, end)
        return attach(typed, kibana=kibana, grafana=grafana)


def _levels(severity: str) -> dict[str, Any]:
    number, names = _level(severity)
    return {"level": number, "levels": tuple(names)}
