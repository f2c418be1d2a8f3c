"""A planned metric query as SQL over the exporter's ``otel_metrics_*`` tables.

Same semantics as `_promql`: a point at ``t`` looks at samples in ``(t - window, t]``.
Each sample (or, for rates and histograms, each pair of consecutive samples of a series)
is copied into every window that covers it with ``arrayJoin(range(...))``, reduced per
series and window, then aggregated across series by the `by` labels. A rate is the
increase in the window (counter resets handled) extrapolated to the window's edges as
Prometheus's `rate` does; a histogram quantile comes from the summed rates of the
cumulative buckets, as Prometheus's `histogram_quantile` computes it. On the same
samples both backends agree to floating-point rounding (pinned by the tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hxb_lab.errors import QueryError
from hxb_lab.telemetry._metric_query import MetricQuery, histogram_quantile
from hxb_lab.times import timestamps

if TYPE_CHECKING:
    import pandas as pd

    from hxb_lab.clients.clickhouse import ClickHouse

TABLES = ("metrics_gauge", "metrics_sum", "metrics_histogram")
_INNER = {"avg": "avg", "sum": "avg", "count": "avg", "min": "min", "max": "max"}


def _label(key: str) -> str:
    """A label's value: from the data point's attributes, else the resource's."""
    return f"if(mapContains(Attributes, {key}), Attributes[{key}], ResourceAttributes[{key}])"


def find_table(store: ClickHouse, metric: str, q: MetricQuery) -> str | None:
    """Which ``otel_metrics_*`` table holds `metric` in the query's range, if any."""
    parts = [
        f"SELECT '{t}' FROM (SELECT 1 FROM ${{{t}}} WHERE MetricName = {{metric:String}} "
        "AND TimeUnix > fromUnixTimestamp64Nano({lo:Int64}, 'UTC') "
        "AND TimeUnix <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC') LIMIT 1)"
        for t in TABLES
    ]
    rows = store.rows(" UNION ALL ".join(parts), _params(q))
    return str(rows[0][0]) if rows else None


def _params(q: MetricQuery) -> dict[str, Any]:
    params: dict[str, Any] = {
        "metric": q.metric,
        "t0": q.start_s * 10**9,
        "step": q.step_s * 10**9,
        "w": q.window_s * 10**9,
        "n": q.points,
        "lo": (q.start_s - q.window_s) * 10**9,
        "hi": q.end_s * 10**9,
    }
    for i, (key, values) in enumerate(q.where):
        params[f"wk{i}"], params[f"wv{i}"] = key, list(values)
    for i, key in enumerate(q.labels):
        params[f"lk{i}"] = key
    return params


def _where(q: MetricQuery) -> str:
    clauses = [
        "MetricName = {metric:String}",
        "TimeUnix > fromUnixTimestamp64Nano({lo:Int64}, 'UTC')",
        "TimeUnix <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC')",
    ]
    clauses += [
        f"{_label(f'{{wk{i}:String}}')} IN {{wv{i}:Array(String)}}" for i in range(len(q.where))
    ]
    return " AND ".join(clauses)


def _windows(first: str, last: str) -> str:
    """Indices of the windows (t_i - w, t_i] that contain both `first` and `last` (ns)."""
    low = f"toInt64(ceil(({last} - {{t0:Int64}}) / {{step:Int64}}))"
    high = f"toInt64(ceil(({first} + {{w:Int64}} - {{t0:Int64}}) / {{step:Int64}}))"
    return (
        f"arrayJoin(range(toUInt64(greatest(0, {low})), "
        f"toUInt64(greatest(0, least({{n:Int64}}, {high})))))"
    )


def _series(q: MetricQuery) -> tuple[str, list[str], str]:
    """What identifies a series and carries its labels: the SELECT expressions, the keys
    to group samples of one series by, and the label columns to keep per group."""
    if q.by is None:
        return (
            "cityHash64(ServiceName, Attributes, ResourceAttributes) AS series, Attributes AS labels",
            ["series"],
            "any(labels) AS labels",
        )
    labels = [f"{_label(f'{{lk{i}:String}}')} AS l{i}" for i in range(len(q.labels))]
    select = ", ".join(
        ["cityHash64(ServiceName, Attributes, ResourceAttributes) AS series", *labels]
    )
    return select, ["series", *(f"l{i}" for i in range(len(q.labels)))], ""


def _pairs(q: MetricQuery, table: str, columns: dict[str, str]) -> str:
    """Consecutive samples of each series: `columns` (name -> expression) of the current
    sample and, prefixed with p, of the previous one."""
    select, _, _ = _series(q)
    values = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
    lags = ", ".join(f"lagInFrame({name}) OVER w AS p{name}" for name in columns)
    return f"""
        SELECT * FROM (
            SELECT {select}, toUnixTimestamp64Nano(TimeUnix) AS t, {values},
                lagInFrame(t, 1, toInt64(0)) OVER w AS pt, {lags}
            FROM ${{{table}}} WHERE {_where(q)}
            WINDOW w AS (PARTITION BY series ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
        ) WHERE pt > 0"""


#: Seconds from the window's start to its first sample and from its last sample to its end,
#: and the sampled span, as Prometheus's `extrapolatedRate` measures them.
_SPANS = """
    ({t0:Int64} + i * {step:Int64}) AS window_end,
    (last_t - first_t) / 1e9 AS sampled,
    sampled / pairs AS spacing,
    (first_t - (window_end - {w:Int64})) / 1e9 AS to_start,
    (window_end - last_t) / 1e9 AS to_end"""


def _extrapolated(increase: str, first: str) -> str:
    """Per-second rate from an increase, extrapolated to the window's edges as Prometheus
    does: up to the edge when the gap is under 1.1 sample spacings (else half a spacing),
    and never back past the point where the counter would have been zero."""
    start = f"if({increase} > 0 AND {first} >= 0, least(to_start, sampled * {first} / {increase}), to_start)"
    return (
        f"{increase} * (sampled + if(({start}) < spacing * 1.1, ({start}), spacing / 2) "
        f"+ if(to_end < spacing * 1.1, to_end, spacing / 2)) / sampled / ({{w:Int64}} / 1e9)"
    )


def _per_series(q: MetricQuery, table: str) -> str:
    """One value `v` per series and window index `i`."""
    select, keys, carry = _series(q)
    group = ", ".join([*keys, "i"])
    extra = f"{carry}, " if carry else ""
    if q.rate:
        kept = ", ".join([*keys, "i", *(["labels"] if carry else [])])
        return f"""
            SELECT {kept}, {_extrapolated("increase", "first_v")} AS v, {_SPANS}
            FROM (
                SELECT {group}, {extra}
                    sum(if(Value >= pValue, Value - pValue, Value)) AS increase,
                    min(pt) AS first_t, max(t) AS last_t, count() AS pairs,
                    argMin(pValue, pt) AS first_v
                FROM (SELECT *, {_windows("pt", "t")} AS i FROM ({_pairs(q, table, {"Value": "Value"})}))
                GROUP BY {group}
            )"""
    return f"""
        SELECT {group}, {extra}{_INNER[q.agg]}(Value) AS v
        FROM (SELECT {select}, toUnixTimestamp64Nano(TimeUnix) AS t, Value, {_windows("t", "t")} AS i
              FROM ${{{table}}} WHERE {_where(q)})
        GROUP BY {group}"""


def _histogram(q: MetricQuery) -> str:
    """Rates of the cumulative ``le`` buckets summed per window and group (per series
    without `by`): each cumulative bucket is a counter of its own, reset-checked and
    extrapolated as Prometheus does for the ``_bucket`` series."""
    _, keys, carry = _series(q)
    groups = ["series"] if q.by is None else keys[1:]
    group = ", ".join([*groups, "i"])
    extra = "any(labels) AS labels, " if carry else ""
    per_series = ", ".join([*keys, "i"])
    columns = {
        "Buckets": "arrayMap(v -> toFloat64(v), arrayCumSum(BucketCounts))",
        "Bounds": "ExplicitBounds",
    }
    increase = "arrayMap((a, b) -> if(a >= b, a - b, a), Buckets, pBuckets)"
    rate = _extrapolated("x", "f")
    return f"""
        SELECT {group}, {extra}sumForEach(rates) AS buckets, any(bounds) AS bounds
        FROM (
            SELECT *, arrayMap((x, f) -> {rate}, increases, firsts) AS rates, {_SPANS}
            FROM (
                SELECT {per_series}, {f"{carry}, " if carry else ""}
                    sumForEach({increase}) AS increases, argMin(pBuckets, pt) AS firsts,
                    min(pt) AS first_t, max(t) AS last_t, count() AS pairs,
                    any(Bounds) AS bounds
                FROM (
                    SELECT *, {_windows("pt", "t")} AS i
                    FROM ({_pairs(q, "metrics_histogram", columns)})
                    WHERE length(Buckets) = length(pBuckets)
                )
                GROUP BY {per_series}
            )
        )
        GROUP BY {group}"""


def run(store: ClickHouse, q: MetricQuery) -> pd.DataFrame:
    """The tidy frame of `q`: timestamp, value, one column per label; empty when the metric
    has no data in the range."""
    import pandas as pd

    table = find_table(store, q.metric, q)
    if table is None:
        return _tidy(pd.DataFrame(), q)
    if q.quantile is not None and table != "metrics_histogram":
        raise QueryError(
            f"{q.metric} is a {table.removeprefix('metrics_')} metric: quantiles need a histogram",
            hint="use agg='avg', 'sum', 'min', 'max' or 'count'",
        )
    if q.quantile is None and table == "metrics_histogram":
        raise QueryError(
            f"{q.metric} is a histogram: ask for a quantile",
            hint="use agg='p50', 'p95' or 'p99'",
        )
    params = _params(q)
    names = [f"l{i}" for i in range(len(q.labels))]
    if q.quantile is not None:
        frame = store.frame(_histogram(q), params)
        if not frame.empty:
            frame["value"] = [
                histogram_quantile(q.quantile, list(b), list(c))
                for b, c in zip(frame["bounds"], frame["buckets"], strict=True)
            ]
    else:
        inner = _per_series(q, table)
        if q.by is None:
            sql = f"SELECT labels, i, v AS value FROM ({inner})"
        else:
            outer = "count()" if q.agg == "count" else f"{q.agg}(v)"
            keys = ", ".join([*names, "i"])
            sql = f"SELECT {keys}, {outer} AS value FROM ({inner}) GROUP BY {keys}"
        frame = store.frame(sql, params)
    return _tidy(frame, q)


def _tidy(frame: pd.DataFrame, q: MetricQuery) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if frame.empty:
        labels = list(q.labels)
        return pd.DataFrame(
            {
                "timestamp": timestamps([]),
                "value": pd.Series([], dtype="float64"),
                **{name: pd.Series([], dtype="str") for name in labels},
            }
        )
    index = frame["i"].to_numpy(dtype=np.int64)
    out: dict[str, Any] = {
        "timestamp": timestamps((q.start_s + index * q.step_s) * 10**9),
        "value": frame["value"].to_numpy(dtype=np.float64),
    }
    if q.by is None:
        maps = list(frame["labels"])
        for name in sorted({k for m in maps for k in m}):
            out[name] = pd.Series([m.get(name, "") for m in maps], dtype="str")
    else:
        for i, name in enumerate(q.by):
            out[name] = pd.Series(frame[f"l{i}"], dtype="str").reset_index(drop=True)
    result = pd.DataFrame(out)
    result = result[~result["value"].isna()]
    labels = [c for c in result.columns if c not in ("timestamp", "value")]
    return result.sort_values([*labels, "timestamp"], kind="stable").reset_index(drop=True)
