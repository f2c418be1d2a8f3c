"""The tables of the OpenTelemetry Collector's ClickHouse exporter, and our Parquet layout.

The same column names and types serve three stores: a ClickHouse server, an on-disk chDB
(``chdb:///dir``, tables created by `create_tables`) and the embedded demo, where each
table is a view over Parquet files in one directory (`PARQUET_LAYOUT`). Both spellings of
span status and kind that exporter versions wrote are accepted (`STATUS_ERROR`, `KINDS`).
"""

from __future__ import annotations

__all__ = [
    "ALERTS_FILE",
    "CLUSTER_CHANGES",
    "DURATION_BUCKET",
    "KINDS",
    "PARQUET_LAYOUT",
    "ROLLUP",
    "ROLLUP_SELECT",
    "STATUS_ERROR",
    "STRUCTURES",
    "create_table",
    "create_tables",
    "kind_name",
]

_ATTRS = "Map(LowCardinality(String), String)"

#: Columns of each exporter table (name -> ClickHouse type), in the exporter's order.
STRUCTURES: dict[str, dict[str, str]] = {
    "traces": {
        "Timestamp": "DateTime64(9, 'UTC')",
        "TraceId": "String",
        "SpanId": "String",
        "ParentSpanId": "String",
        "TraceState": "String",
        "SpanName": "LowCardinality(String)",
        "SpanKind": "LowCardinality(String)",
        "ServiceName": "LowCardinality(String)",
        "ResourceAttributes": _ATTRS,
        "ScopeName": "String",
        "ScopeVersion": "String",
        "SpanAttributes": _ATTRS,
        "Duration": "UInt64",
        "StatusCode": "LowCardinality(String)",
        "StatusMessage": "String",
        "Events.Timestamp": "Array(DateTime64(9, 'UTC'))",
        "Events.Name": "Array(LowCardinality(String))",
        "Events.Attributes": f"Array({_ATTRS})",
        "Links.TraceId": "Array(String)",
        "Links.SpanId": "Array(String)",
        "Links.TraceState": "Array(String)",
        "Links.Attributes": f"Array({_ATTRS})",
    },
    "traces_trace_id_ts": {
        "TraceId": "String",
        "Start": "DateTime('UTC')",
        "End": "DateTime('UTC')",
    },
    "logs": {
        "Timestamp": "DateTime64(9, 'UTC')",
        "TimestampTime": "DateTime('UTC')",
        "TraceId": "String",
        "SpanId": "String",
        "TraceFlags": "UInt8",
        "SeverityText": "LowCardinality(String)",
        "SeverityNumber": "UInt8",
        "ServiceName": "LowCardinality(String)",
        "Body": "String",
        "ResourceSchemaUrl": "LowCardinality(String)",
        "ResourceAttributes": _ATTRS,
        "ScopeSchemaUrl": "LowCardinality(String)",
        "ScopeName": "String",
        "ScopeVersion": "LowCardinality(String)",
        "ScopeAttributes": _ATTRS,
        "LogAttributes": _ATTRS,
    },
}
_METRIC_COMMON = {
    "ResourceAttributes": _ATTRS,
    "ResourceSchemaUrl": "String",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "ScopeAttributes": _ATTRS,
    "ScopeDroppedAttrCount": "UInt32",
    "ScopeSchemaUrl": "String",
    "ServiceName": "LowCardinality(String)",
    "MetricName": "String",
    "MetricDescription": "String",
    "MetricUnit": "String",
    "Attributes": _ATTRS,
    "StartTimeUnix": "DateTime64(9, 'UTC')",
    "TimeUnix": "DateTime64(9, 'UTC')",
}
STRUCTURES["metrics_gauge"] = {**_METRIC_COMMON, "Value": "Float64", "Flags": "UInt32"}
STRUCTURES["metrics_sum"] = {
    **_METRIC_COMMON,
    "Value": "Float64",
    "Flags": "UInt32",
    "AggregationTemporality": "Int32",
    "IsMonotonic": "Bool",
}
STRUCTURES["metrics_histogram"] = {
    **_METRIC_COMMON,
    "Count": "UInt64",
    "Sum": "Float64",
    "BucketCounts": "Array(UInt64)",
    "ExplicitBounds": "Array(Float64)",
    "Flags": "UInt32",
    "Min": "Float64",
    "Max": "Float64",
    "AggregationTemporality": "Int32",
}

#: Our one addition to the exporter's tables: RED figures per minute, service, operation
#: and span kind, with durations as a histogram of log-spaced buckets (`DURATION_BUCKET`),
#: filled from ``otel_traces`` by a materialized view (or by the demo generator). Reads of
#: service and operation figures use it for whole minutes instead of every span.
ROLLUP = "traces_red_1m"
STRUCTURES[ROLLUP] = {
    "Minute": "DateTime('UTC')",
    "ServiceName": "LowCardinality(String)",
    "SpanName": "LowCardinality(String)",
    "SpanKind": "LowCardinality(String)",
    "Calls": "UInt64",
    "Errors": "UInt64",
    "Durations": "Map(UInt16, UInt64)",
}
#: Buckets per decade of the duration histogram: bucket k > 0 holds durations in
#: [1 us * 10^((k-1)/40), 1 us * 10^(k/40)), so a percentile read from it is within 6 %.
BUCKETS_PER_DECADE = 40
DURATION_BUCKET = (
    f"if(Duration <= 1000, toUInt16(0), "
    f"toUInt16(least(1 + floor(log10(Duration / 1000) * {BUCKETS_PER_DECADE}), 480)))"
)
#: The rollup's rows from spans (``{source}``: a table or table function of spans).
ROLLUP_SELECT = f"""
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, SpanName, SpanKind,
    count() AS Calls, countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS Errors,
    sumMap(map({DURATION_BUCKET}, toUInt64(1))) AS Durations
FROM {{source}}
GROUP BY Minute, ServiceName, SpanName, SpanKind"""

#: Our second addition: the cluster's history, one row per change of a Kubernetes object
#: as `hxb-lab record` saw it (or the demo's seeder wrote it). `Object` is the object's
#: state after the change (without managedFields; a ConfigMap's values as digests), so a
#: past moment is the last row of each object up to it; `Diff` is JSON
#: ``{"path": [before, after]}``. Documented in docs/architecture.md ("Cluster history").
CLUSTER_CHANGES = "cluster_changes"
STRUCTURES[CLUSTER_CHANGES] = {
    "Time": "DateTime64(9, 'UTC')",
    "Cluster": "LowCardinality(String)",
    "Kind": "LowCardinality(String)",
    "Namespace": "String",
    "Name": "String",
    "Uid": "String",
    "Change": "LowCardinality(String)",
    "What": "LowCardinality(String)",
    "Who": "String",
    "Summary": "String",
    "Diff": "String",
    "ResourceVersion": "String",
    "Object": "String",
}

#: Table key (as in `ClickHouseTables`, plus `ROLLUP`) -> subdirectory of a Parquet directory.
PARQUET_LAYOUT: dict[str, str] = {
    "traces": "traces",
    "traces_trace_id_ts": "traces_trace_id_ts",
    "logs": "logs",
    "metrics_gauge": "metrics_gauge",
    "metrics_sum": "metrics_sum",
    "metrics_histogram": "metrics_histogram",
    ROLLUP: ROLLUP,
    CLUSTER_CHANGES: CLUSTER_CHANGES,
}

#: The demo's firing alerts (what Alertmanager would list), beside the table directories.
ALERTS_FILE = "alerts.parquet"

#: Every spelling of an error status the exporter has written.
STATUS_ERROR = ("Error", "STATUS_CODE_ERROR")
#: Span kind -> its spellings (new exporter versions write "Server", old "SPAN_KIND_SERVER").
KINDS: dict[str, tuple[str, str]] = {
    k: (k, f"SPAN_KIND_{k.upper()}")
    for k in ("Server", "Client", "Internal", "Producer", "Consumer", "Unspecified")
}


def kind_name(spelling: str) -> str:
    """The short name of a span kind in either spelling ('SPAN_KIND_SERVER' -> 'Server')."""
    if spelling.startswith("SPAN_KIND_"):
        return spelling.removeprefix("SPAN_KIND_").capitalize()
    return spelling


def structure(table: str) -> str:
    """The column list of `table` as a ClickHouse structure string."""
    return ", ".join(f"`{name}` {kind}" for name, kind in STRUCTURES[table].items())


_ENGINES = {
    "traces": (
        "MergeTree PARTITION BY toDate(Timestamp) "
        "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))"
    ),
    "traces_trace_id_ts": "MergeTree PARTITION BY toDate(Start) ORDER BY (TraceId, Start)",
    "logs": "MergeTree PARTITION BY toDate(TimestampTime) ORDER BY (ServiceName, TimestampTime)",
    "metrics_gauge": (
        "MergeTree PARTITION BY toDate(TimeUnix) "
        "ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))"
    ),
}
_ENGINES[ROLLUP] = (
    "MergeTree PARTITION BY toDate(Minute) ORDER BY (ServiceName, SpanName, SpanKind, Minute)"
)
_ENGINES[CLUSTER_CHANGES] = (
    "MergeTree PARTITION BY toDate(Time) ORDER BY (Cluster, Kind, Namespace, Name, Time)"
)
_ENGINES["metrics_sum"] = _ENGINES["metrics_gauge"]
_ENGINES["metrics_histogram"] = _ENGINES["metrics_gauge"]
_INDEXES = {
    "traces": ", INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
    "traces_trace_id_ts": ", INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1",
    "logs": ", INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
}


def create_table(client: object, database: str, key: str, name: str) -> None:
    """Create one table (`key` of `STRUCTURES`) as `name` in `database`, if missing."""
    command = client.command  # type: ignore[attr-defined]
    command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    command(
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{name}` ({structure(key)}"
        f"{_INDEXES.get(key, '')}) ENGINE = {_ENGINES[key]}"
    )


def create_tables(client: object, database: str, tables: dict[str, str]) -> None:
    """Create the exporter's tables, the trace-id materialized view and, when `tables` names
    it, the RED rollup with its materialized view, if missing.

    `client` is a clickhouse-connect client; `tables` maps table keys to validated names.
    """
    command = client.command  # type: ignore[attr-defined]
    command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for key, name in tables.items():
        command(
            f"CREATE TABLE IF NOT EXISTS `{database}`.`{name}` ({structure(key)}"
            f"{_INDEXES.get(key, '')}) ENGINE = {_ENGINES[key]}"
        )
    traces, lookup = tables["traces"], tables["traces_trace_id_ts"]
    command(
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{lookup}_mv` "
        f"TO `{database}`.`{lookup}` AS SELECT TraceId, min(Timestamp) AS Start, "
        f"max(Timestamp) AS End FROM `{database}`.`{traces}` WHERE TraceId != '' "
        "GROUP BY TraceId"
    )
    if ROLLUP in tables:
        rollup = tables[ROLLUP]
        command(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{rollup}_mv` "
            f"TO `{database}`.`{rollup}` AS "
            + ROLLUP_SELECT.format(source=f"`{database}`.`{traces}`")
        )
