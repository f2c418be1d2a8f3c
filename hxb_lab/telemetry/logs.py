"""`wb.logs`: OpenTelemetry logs from the exporter's ``otel_logs`` table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab.errors import ParameterError
from hxb_lab.telemetry import _sql
from hxb_lab.telemetry._facade import Facade
from hxb_lab.times import time_range

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SEVERITIES", "Logs"]

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


class Logs(Facade):
    """OpenTelemetry logs, searchable and correlated with traces."""

    def search(
        self,
        service: str | None = None,
        severity: str | None = None,
        text: str | None = None,
        trace_id: str | None = None,
        start: Any = None,
        end: Any = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """Log lines, newest first.

        `severity` is a minimum level (``"warn"`` gives warnings, errors and fatals); `text`
        a case-insensitive substring of the body, matched literally; `trace_id` gives the
        lines of one trace. Columns: timestamp, service, severity (upper case), body,
        trace_id, span_id, attributes (log attributes), resource (resource attributes).
        """
        start_ns, end_ns = time_range(self._ctx.now(), start, end)
        _sql.check_limit(limit)
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
