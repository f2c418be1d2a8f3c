r"""The generated metrics as OpenMetrics text, to backfill a Prometheus with the same data.

``promtool tsdb create-blocks-from openmetrics FILE DIR`` turns the file into TSDB blocks,
so Prometheus and the ``otel_metrics_*`` tables hold the same samples. Gauges and
monotonic sums keep their names and labels; a histogram becomes ``<name>_bucket`` (with
cumulative ``le`` buckets), ``<name>_count`` and ``<name>_sum``, as the Prometheus
receiver maps them the other way. Families are contiguous, each series in time order.
"""

from __future__ import annotations

from pathlib import Path

from hxb_lab.demo.telemetry._sql import literal
from hxb_lab.otel_tables import structure

_ESCAPED = r"replaceAll(replaceAll(replaceAll(v, '\\', '\\\\'), '\"', '\\\"'), '\n', '\\n')"
_LABELS = (
    "concat('{', arrayStringConcat(arrayMap((k, v) -> concat(k, '=\"', "
    + _ESCAPED
    + ", '\"'), mapKeys(Attributes), mapValues(Attributes)), ','), '}')"
)
_TIME = "toUnixTimestamp64Milli(TimeUnix) / 1000"
_RANGE = (
    "TimeUnix >= fromUnixTimestamp64Nano({start:Int64}, 'UTC') "
    "AND TimeUnix < fromUnixTimestamp64Nano({end:Int64}, 'UTC')"
)


def _source(directory: Path, table: str) -> str:
    files = literal(str(directory / table / "*.parquet"))
    return f"file({files}, Parquet, {literal(structure(table))})"


def _sql(directory: Path) -> str:
    gauge, total, histogram = (
        _source(directory, t) for t in ("metrics_gauge", "metrics_sum", "metrics_histogram")
    )
    series = "toString(cityHash64(Attributes))"
    bucket_labels = (
        "arrayMap((b, c) -> concat(MetricName, '_bucket{', "
        "arrayStringConcat(arrayConcat(arrayMap((k, v) -> concat(k, '=\"', "
        + _ESCAPED
        + ", '\"'), mapKeys(Attributes), mapValues(Attributes)), [concat('le=\"', b, '\"')]), ','), "
        "'} ', toString(c), ' ', toString(" + _TIME + ")), "
        "arrayConcat(arrayMap(x -> toString(x), ExplicitBounds), ['+Inf']), arrayCumSum(BucketCounts))"
    )
    return f"""
        SELECT line FROM (
            SELECT MetricName AS family, '' AS series, toInt64(-1) AS t, 0 AS k,
                concat('# TYPE ', MetricName, ' gauge') AS line
            FROM {gauge} WHERE {_RANGE} GROUP BY MetricName
            UNION ALL
            SELECT MetricName, {series}, toUnixTimestamp64Milli(TimeUnix), 0,
                concat(MetricName, {_LABELS}, ' ', toString(Value), ' ', toString({_TIME}))
            FROM {gauge} WHERE {_RANGE}
            UNION ALL
            SELECT MetricName, {series}, toUnixTimestamp64Milli(TimeUnix), 0,
                concat(MetricName, {_LABELS}, ' ', toString(Value), ' ', toString({_TIME}))
            FROM {total} WHERE {_RANGE}
            UNION ALL
            SELECT MetricName AS family, '' AS series, toInt64(-1) AS t, 0 AS k,
                concat('# TYPE ', MetricName, ' histogram') AS line
            FROM {histogram} WHERE {_RANGE} GROUP BY MetricName
            UNION ALL
            SELECT family, series, t, k, lines[k] FROM (
                SELECT MetricName AS family, {series} AS series,
                    toUnixTimestamp64Milli(TimeUnix) AS t,
                    arrayConcat({bucket_labels}, [
                        concat(MetricName, '_count', {_LABELS}, ' ', toString(Count), ' ',
                               toString({_TIME})),
                        concat(MetricName, '_sum', {_LABELS}, ' ', toString(Sum), ' ',
                               toString({_TIME}))]) AS lines,
                    arrayJoin(arrayEnumerate(lines)) AS k
                FROM {histogram} WHERE {_RANGE}
            )
        )
        ORDER BY family, series, t, k"""


def write_openmetrics(directory: Path | str, path: Path | str, start_ns: int, end_ns: int) -> int:
    """Write the metrics of a generated directory in [start_ns, end_ns) to `path` as
    OpenMetrics text; returns the number of sample lines."""
    import clickhouse_connect

    source, target = Path(directory).resolve(), Path(path).resolve()
    client = clickhouse_connect.get_client(dsn="chdb://memory")
    try:
        client.command(
            f"INSERT INTO FUNCTION file({literal(str(target))}, TSVRaw, 'line String') "
            f"{_sql(source)} SETTINGS engine_file_truncate_on_insert = 1",
            parameters={"start": start_ns, "end": end_ns},
        )
    finally:
        client.close()
    with target.open("a") as fh:
        fh.write("# EOF\n")
    with target.open("rb") as fh:
        return sum(1 for line in fh if not line.startswith(b"#"))
