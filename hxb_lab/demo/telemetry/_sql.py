"""SQL (run in chDB) that derives the trace-id lookup table, the RED rollup and the log
lines from the written traces, exactly as a platform's own pipeline would.

``otel_traces_trace_id_ts`` holds what the exporter's materialized view computes (first
and last span start per trace, to the second), sorted by trace id in small pages, so one
lookup decodes one page. Logs are the gateway's access log (a quarter of the requests and every
failure), an error line per failed server span, a warning per failed call, an
inference line for a tenth of model calls, plus log lines that belong to no trace
(`events`: the rollout, a model that cannot load, a hot GPU).
"""

from __future__ import annotations

from pathlib import Path

from hxb_lab.otel_tables import ROLLUP_SELECT, structure

_SETTINGS = (
    "SETTINGS output_format_parquet_row_group_size = 65536, "
    "engine_file_truncate_on_insert = 1, schema_inference_make_columns_nullable = 0"
)


def literal(text: str) -> str:
    """A ClickHouse string literal for one of our own paths (quotes and backslashes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_TRACES = "file({traces}, Parquet, {traces_structure})"

TRACE_ID_TS = f"""
INSERT INTO FUNCTION file({{out}}, Parquet)
SELECT TraceId, toDateTime(min(Timestamp), 'UTC') AS Start, toDateTime(max(Timestamp), 'UTC') AS End
FROM {_TRACES}
GROUP BY TraceId
ORDER BY TraceId
{_SETTINGS}, output_format_parquet_data_page_size = 8192
"""

ROLLUP = f"""
INSERT INTO FUNCTION file({{out}}, Parquet)
SELECT * FROM ({ROLLUP_SELECT.format(source=_TRACES)})
ORDER BY Minute, ServiceName, SpanName, SpanKind
{_SETTINGS}
"""

_SPAN_LOGS = f"""
SELECT
    Timestamp + toIntervalNanosecond(if(SpanKind = 'Server' AND StatusCode != 'Error'
                                          AND ParentSpanId != '', intDiv(Duration, 2), Duration))
        AS Time,
    TraceId, SpanId, ServiceName,
    multiIf(StatusCode = 'Error' AND SpanKind = 'Client', 'WARN',
            StatusCode = 'Error', 'ERROR', 'INFO') AS Severity,
    multiIf(
        ParentSpanId = '', format('POST {{}} {{}} {{}}ms', SpanAttributes['http.route'],
            SpanAttributes['http.response.status_code'], toString(round(Duration / 1e6, 1))),
        StatusCode = 'Error' AND SpanKind = 'Client',
            format('call {{}} to {{}} failed (attempt {{}}): {{}}', SpanName,
                   SpanAttributes['peer.service'],
                   if(mapContains(SpanAttributes, 'hxb.retry.attempt'),
                      SpanAttributes['hxb.retry.attempt'], '1'), StatusMessage),
        StatusCode = 'Error', format('{{}} failed: {{}}', SpanName, StatusMessage),
        SpanKind = 'Consumer', format('processed {{}} event for trace {{}}',
            SpanAttributes['messaging.destination.name'], TraceId),
        format('inference ok model={{}} version={{}} latency_ms={{}}',
               SpanAttributes['hxb.model.name'], SpanAttributes['hxb.model.version'],
               toString(round(Duration / 1e6, 1)))) AS Message,
    ResourceAttributes AS Resource,
    mapFilter((k, v) -> v != '', map(
        'http.route', if(ParentSpanId = '', SpanAttributes['http.route'], ''),
        'http.response.status_code',
            if(ParentSpanId = '', SpanAttributes['http.response.status_code'], ''),
        'duration_ms', toString(round(Duration / 1e6, 3)),
        'hxb.model.name', SpanAttributes['hxb.model.name'],
        'hxb.model.version', SpanAttributes['hxb.model.version'])) AS Attributes
FROM {_TRACES}
WHERE StatusCode = 'Error' AND SpanKind IN ('Server', 'Client')
   OR (ParentSpanId = '' AND cityHash64(TraceId) % 4 = 0)
   OR (SpanKind = 'Server' AND SpanAttributes['hxb.model.name'] = ServiceName
       AND cityHash64(TraceId, 1) % 10 = 0)
   OR (SpanKind = 'Consumer' AND cityHash64(TraceId, 2) % 20 = 0)
"""

_EVENT_LOGS = """
SELECT fromUnixTimestamp64Nano(Start, 'UTC') AS Time, '' AS TraceId, '' AS SpanId,
       Service AS ServiceName, Severity, Body AS Message,
       CAST(mapFilter((k, v) -> v != '', map('service.name', Service,
           'k8s.cluster.name', {cluster:String}, 'k8s.namespace.name', Namespace,
           'k8s.pod.name', Pod, 'k8s.node.name', Node)),
           'Map(LowCardinality(String), String)') AS Resource,
       CAST(mapFilter((k, v) -> v != '', map('hxb.model.name', Model, 'gpu', Gpu)),
            'Map(LowCardinality(String), String)') AS Attributes
FROM file({events}, Arrow, 'Start Int64, Service String, Severity String, Body String,
          Namespace String, Pod String, Node String, Model String, Gpu String')
"""

LOGS = f"""
INSERT INTO FUNCTION file({{out}}, Parquet) PARTITION BY toYYYYMMDD(Timestamp) * 100 + toHour(Timestamp)
SELECT Time AS Timestamp, toDateTime(Time, 'UTC') AS TimestampTime, TraceId, SpanId,
       toUInt8(TraceId != '') AS TraceFlags, Severity AS SeverityText,
       toUInt8(multiIf(Severity = 'ERROR', 17, Severity = 'WARN', 13, 9)) AS SeverityNumber,
       ServiceName, Message AS Body, Resource AS ResourceAttributes,
       'hxb.logging' AS ScopeName, Attributes AS LogAttributes
FROM ({_SPAN_LOGS} UNION ALL {_EVENT_LOGS})
ORDER BY toStartOfHour(Timestamp), ServiceName, Timestamp
{_SETTINGS}
"""


def render(sql: str, **paths: Path | str) -> str:
    """`sql` with its ``{out}``, ``{traces}``, ``{events}`` placeholders filled as literals."""
    values = {k: literal(str(v)) for k, v in paths.items()}
    values["traces_structure"] = literal(structure("traces"))
    for key, value in values.items():
        sql = sql.replace("{" + key + "}", value)
    return sql
