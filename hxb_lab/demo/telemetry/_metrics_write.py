"""The demo's metric series as rows of the exporter's ``otel_metrics_*`` tables, in Parquet.

A day of 30-second samples is millions of rows whose strings (metric names, label maps)
repeat per series, so every string column is a dictionary built from per-series codes:
no string is copied per row, and the Parquet writer stores the dictionaries as they are.
Rows are in the tables' order (service, metric, series, time), so a filter on a metric
skips row groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hxb_lab.demo.telemetry._metrics import LATENCY_BOUNDS_MS

if TYPE_CHECKING:
    from hxb_lab.demo.telemetry._metrics import MetricSet, Series

SCOPE = ("otelcol/prometheusreceiver", "0.110.0")
ROW_GROUP = 65536


class _Rows:
    """Columns over the rows of `series`, each series spread over the samples it has."""

    def __init__(self, series: list[Series], times_ns: Any) -> None:
        import numpy as np

        self.series = series
        self.counts = np.array([len(s.kept(times_ns)) for s in series], dtype=np.int64)
        self.ids = np.repeat(np.arange(len(series), dtype=np.int32), self.counts)
        self.n = len(self.ids)

    @staticmethod
    def _codes(words: list[str]) -> tuple[Any, Any]:
        import numpy as np
        import pyarrow as pa

        distinct = sorted(set(words))
        index = {w: i for i, w in enumerate(distinct)}
        return np.array([index[w] for w in words], dtype=np.int32), pa.array(distinct, pa.string())

    def words(self, per_series: list[str]) -> Any:
        """A string column: one word per series."""
        import pyarrow as pa

        codes, dictionary = self._codes(per_series)
        return pa.DictionaryArray.from_arrays(pa.array(codes[self.ids]), dictionary)

    def constant(self, word: str) -> Any:
        return self.words([word] * len(self.series))

    def maps(self, per_series: list[list[tuple[str, str]]]) -> Any:
        """A ``Map(String, String)`` column: one map per series."""
        import numpy as np
        import pyarrow as pa

        sizes = np.array([len(m) for m in per_series], dtype=np.int64)
        keys, key_words = self._codes([k for m in per_series for k, _ in m])
        values, value_words = self._codes([v for m in per_series for _, v in m])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        # Each row repeats its series' entries: gather them by position.
        rows_sizes = sizes[self.ids]
        offsets = np.concatenate([[0], np.cumsum(rows_sizes)])
        within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], rows_sizes)
        entries = np.repeat(starts[:-1][self.ids], rows_sizes) + within
        return pa.MapArray.from_arrays(
            pa.array(offsets.astype(np.int32)),
            pa.DictionaryArray.from_arrays(pa.array(keys[entries]), key_words),
            pa.DictionaryArray.from_arrays(pa.array(values[entries]), value_words),
        )

    def numbers(self, per_series: list[Any], dtype: Any) -> Any:
        """A numeric column: each series' values at the samples it has."""
        import numpy as np

        return np.concatenate(
            [s.kept(np.asarray(v)) for s, v in zip(self.series, per_series, strict=True)]
        ).astype(dtype)


def metric_table(
    series: list[Series], times_ns: Any, kind: str, cluster: str, start_ns: int
) -> Any:
    """The exporter rows (``gauge``, ``sum`` or ``histogram``) of `series`, in table order."""
    import numpy as np
    import pyarrow as pa

    rows = _Rows(series, times_ns)
    n = rows.n

    def repeat(value: Any, type_: Any) -> Any:
        return pa.repeat(pa.scalar(value, type_), n)

    columns: dict[str, Any] = {
        "ResourceAttributes": rows.maps(
            [[("k8s.cluster.name", cluster), ("service.name", s.service)] for s in series]
        ),
        "ScopeName": rows.constant(SCOPE[0]),
        "ScopeVersion": rows.constant(SCOPE[1]),
        "ServiceName": rows.words([s.service for s in series]),
        "MetricName": rows.words([s.metric for s in series]),
        "MetricDescription": rows.words([s.description for s in series]),
        "MetricUnit": rows.words([s.unit for s in series]),
        "Attributes": rows.maps([sorted(s.labels.items()) for s in series]),
        "StartTimeUnix": repeat(start_ns, pa.timestamp("ns", "UTC")),
        "TimeUnix": pa.array(
            rows.numbers([times_ns] * len(series), np.int64), pa.timestamp("ns", "UTC")
        ),
    }
    if kind == "histogram":
        width = len(LATENCY_BOUNDS_MS) + 1
        buckets = rows.numbers([s.values[2] for s in series], np.uint64)
        per_series = np.array([s.bounds or LATENCY_BOUNDS_MS for s in series], np.float64)
        bounds = per_series[rows.ids].reshape(-1)  # each row its series' bucket bounds
        columns |= {
            "Count": rows.numbers([s.values[0] for s in series], np.uint64),
            "Sum": rows.numbers([s.values[1] for s in series], np.float64),
            "BucketCounts": pa.ListArray.from_arrays(
                pa.array(np.arange(n + 1, dtype=np.int32) * width), pa.array(buckets.reshape(-1))
            ),
            "ExplicitBounds": pa.ListArray.from_arrays(
                pa.array(np.arange(n + 1, dtype=np.int32) * len(LATENCY_BOUNDS_MS)),
                pa.array(bounds),
            ),
            "Flags": repeat(0, pa.uint32()),
            "Min": repeat(0.0, pa.float64()),
            "Max": repeat(0.0, pa.float64()),
            "AggregationTemporality": repeat(2, pa.int32()),
        }
    else:
        columns |= {
            "Value": rows.numbers([s.values for s in series], np.float64),
            "Flags": repeat(0, pa.uint32()),
        }
        if kind == "sum":
            columns |= {
                "AggregationTemporality": repeat(2, pa.int32()),
                "IsMonotonic": repeat(True, pa.bool_()),
            }
    return pa.table(columns)


def write_metrics(metrics: MetricSet, out: Path, cluster: str, start_ns: int) -> None:
    """Write ``metrics_gauge/``, ``metrics_sum/`` and ``metrics_histogram/`` Parquet files."""
    import pyarrow.parquet as pq

    for kind, series in (
        ("gauge", metrics.gauges),
        ("sum", metrics.sums),
        ("histogram", metrics.histograms),
    ):
        target = out / f"metrics_{kind}"
        target.mkdir(parents=True, exist_ok=True)
        if not series:
            continue
        ordered = sorted(series, key=lambda s: (s.service, s.metric))  # stable: series order
        pq.write_table(
            metric_table(ordered, metrics.times_ns, kind, cluster, start_ns),
            str(target / "metrics.parquet"),
            row_group_size=ROW_GROUP,
            compression="zstd",
            store_schema=False,  # plain strings to readers, not Arrow dictionaries
        )
