"""RED figures (calls, errors, duration percentiles) per service or operation.

Whole minutes come from the per-minute rollup (`schema.ROLLUP`) when the store has one,
the partial minutes at either end of the range from the spans themselves; without a
rollup every span is read. Either way durations are counted in the same log-spaced
buckets (`schema.DURATION_BUCKET`), so calls and errors are exact, percentiles are read
from the merged histogram (within 6 %), and both paths give identical answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hxb_lab.otel_tables import BUCKETS_PER_DECADE, DURATION_BUCKET, ROLLUP
from hxb_lab.telemetry import _sql

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.clickhouse import ClickHouse

MINUTE_NS = 60 * 10**9
#: What a row is grouped by, as SQL over spans and over the rollup.
GROUPS = {
    "service": ["ServiceName AS service"],
    "operation": ["SpanName AS operation", f"{_sql.KIND_NAME} AS kind"],
}


def percentile(histogram: Mapping[int, int], q: float) -> float:
    """The `q` quantile (ms) of a duration histogram, interpolated geometrically in its bucket."""
    total = sum(histogram.values())
    if total <= 0:
        return float("nan")
    rank, seen = q * total, 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and seen + count >= rank:
            fraction = (rank - seen) / count
            if bucket == 0:
                return 1e3 * fraction / 1e6
            lower = 1e3 * 10 ** ((bucket - 1) / BUCKETS_PER_DECADE)
            upper = 1e3 * 10 ** (bucket / BUCKETS_PER_DECADE)
            return float(lower * (upper / lower) ** fraction) / 1e6
        seen += count
    return float("nan")  # pragma: no cover - the loop always reaches the total


def red(
    store: ClickHouse,
    by: str,
    kinds: tuple[str, ...] | list[str],
    where: str,
    params: Mapping[str, Any],
    start_ns: int,
    end_ns: int,
) -> pd.DataFrame:
    """Calls, errors, error_rate, p50_ms, p95_ms, p99_ms grouped `by` ("service" or
    "operation"), for spans of `kinds` matching `where` (SQL over the span columns that
    the rollup also has: ServiceName, SpanName, SpanKind) in [start_ns, end_ns)."""
    import pandas as pd

    keys = [g.rsplit(" AS ", 1)[1] for g in GROUPS[by]]
    select = ", ".join(GROUPS[by])
    kind = _sql.kind_filter(kinds)
    first = -(-start_ns // MINUTE_NS) * MINUTE_NS
    last = end_ns // MINUTE_NS * MINUTE_NS
    parts: list[tuple[str, dict[str, Any], tuple[int, int]]] = []
    raw_ranges = [(start_ns, end_ns)]
    if first < last and store.has(ROLLUP):
        sql = f"""
            SELECT {select}, sum(Calls), sum(Errors), sumMap(Durations)
            FROM ${{{ROLLUP}}}
            WHERE Minute >= toDateTime({{first:Int64}}, 'UTC')
              AND Minute < toDateTime({{last:Int64}}, 'UTC') AND {kind} AND {where}
            GROUP BY {", ".join(keys)}"""
        parts.append(
            (sql, {**params, "first": first // 10**9, "last": last // 10**9}, (first, last))
        )
        raw_ranges = [(start_ns, first), (last, end_ns)]
    for low, high in raw_ranges:
        if high <= low:
            continue
        sql = f"""
            SELECT {select}, count(), countIf({_sql.IS_ERROR}),
                sumMap(map({DURATION_BUCKET}, toUInt64(1)))
            FROM ${{traces}}
            WHERE Timestamp >= fromUnixTimestamp64Nano({{low:Int64}}, 'UTC')
              AND Timestamp < fromUnixTimestamp64Nano({{high:Int64}}, 'UTC')
              AND {kind} AND {where}
            GROUP BY {", ".join(keys)}"""
        parts.append((sql, {**params, "low": low, "high": high}, (low, high)))
    merged: dict[tuple[str, ...], list[Any]] = {}
    for sql, values, span in parts:
        for row in store.rows(sql, values, span=span):
            key = tuple(str(v) for v in row[: len(keys)])
            calls, errors, durations = row[len(keys) :]
            entry = merged.setdefault(key, [0, 0, Counter()])
            entry[0] += int(calls)
            entry[1] += int(errors)
            entry[2].update({int(k): int(v) for k, v in durations.items()})
    rows = []
    for key in sorted(merged):
        calls, errors, histogram = merged[key]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "calls": calls,
                "errors": errors,
                "error_rate": errors / calls if calls else float("nan"),
                "p50_ms": percentile(histogram, 0.5),
                "p95_ms": percentile(histogram, 0.95),
                "p99_ms": percentile(histogram, 0.99),
            }
        )
    return pd.DataFrame(rows)
