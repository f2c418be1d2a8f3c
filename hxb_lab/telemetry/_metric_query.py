"""One structured metric query, planned once and run on either backend.

The plan fixes what both backends must agree on: the evaluation times (``start`` aligned
down to a multiple of ``step``, then every ``step`` up to ``end``), and the window each
point looks back over (``max(step, 2m)``: a point at ``t`` covers samples in
``(t - window, t]``). Prometheus allows at most 11,000 points per series; an explicit
step that would exceed it is refused with the smallest valid step, and the automatic
step aims at about 300 points.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hxb_lab.clients.prometheus import MAX_POINTS
from hxb_lab.errors import ParameterError, QueryError
from hxb_lab.times import parse_duration

MIN_WINDOW_S = 120
TARGET_POINTS = 300
MIN_AUTO_STEP_S = 15
NICE_STEPS_S = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip
AGGREGATIONS = ("avg", "sum", "min", "max", "count")
LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class MetricQuery:
    metric: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    by: tuple[str, ...] | None  # None: every series with all its labels
    agg: str  # one of AGGREGATIONS, or "quantile"
    quantile: float | None
    rate: bool
    start_s: int  # first evaluation time
    end_s: int  # last evaluation time
    step_s: int
    window_s: int

    @property
    def points(self) -> int:
        return (self.end_s - self.start_s) // self.step_s + 1

    @property
    def labels(self) -> tuple[str, ...]:
        return self.by or ()


def _points(start_s: float, end_s: float, step_s: int) -> int:
    first = math.floor(start_s / step_s) * step_s
    return int((end_s - first) // step_s) + 1


def smallest_step(start_s: float, end_s: float) -> int:
    """The smallest whole-second step giving at most `MAX_POINTS` points."""
    step = max(1, math.ceil((end_s - start_s) / (MAX_POINTS - 1)))
    while _points(start_s, end_s, step) > MAX_POINTS:
        step += 1
    return step


def auto_step(start_s: float, end_s: float) -> int:
    """A round step giving about `TARGET_POINTS` points (never more than `MAX_POINTS`)."""
    wanted = max((end_s - start_s) / TARGET_POINTS, MIN_AUTO_STEP_S)
    step = next((s for s in NICE_STEPS_S if s >= wanted), math.ceil(wanted / 86400) * 86400)
    return max(step, smallest_step(start_s, end_s))


def check_step(step: Any, start_s: float, end_s: float) -> int:
    seconds = parse_duration(step, "step")
    if seconds < 1 or not float(seconds).is_integer():
        raise ParameterError([f"step: expected a whole number of seconds >= 1, got {step!r}"])
    points = _points(start_s, end_s, int(seconds))
    if points > MAX_POINTS:
        smallest = smallest_step(start_s, end_s)
        raise QueryError(
            f"a step of {int(seconds)}s gives {points:,} points per series over this range, "
            f"more than the {MAX_POINTS:,} Prometheus allows",
            hint=f"use step={smallest} (seconds) or more, or a shorter range",
        )
    return int(seconds)


def _label(name: Any, field: str) -> str:
    if not isinstance(name, str) or not LABEL.match(name):
        raise ParameterError([f"{field}: {name!r} is not a valid label name"])
    return name


def _where(where: Mapping[str, Any] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if where is not None and not isinstance(where, Mapping):
        raise ParameterError(
            [f"where: expected a mapping of label to value(s), got {type(where).__name__}"]
        )
    out = []
    for key, value in (where or {}).items():
        if isinstance(value, str):
            values: tuple[Any, ...] = (value,)
        elif isinstance(value, Sequence) and not isinstance(value, bytes):
            values = tuple(value)
        else:
            values = ()
        if not values or not all(isinstance(v, str) for v in values):
            raise ParameterError([f"where[{key!r}]: expected a string or a list of strings"])
        out.append((_label(key, "where"), values))
    return tuple(out)


def plan(
    metric: str,
    *,
    where: Mapping[str, Any] | None,
    by: str | Sequence[str] | None,
    agg: str,
    rate: bool,
    step: Any,
    start_ns: int,
    end_ns: int,
) -> MetricQuery:
    """Validate a structured query and fix its evaluation times and window."""
    if not isinstance(metric, str) or not metric or len(metric) > 1024:
        raise ParameterError([f"metric: expected a metric name, got {metric!r:.60}"])
    if by is not None and not isinstance(by, str | Sequence):
        raise ParameterError([f"by: expected a label or a list of labels, got {by!r:.60}"])
    if not isinstance(rate, bool):
        raise ParameterError([f"rate: expected true or false, got {rate!r:.60}"])
    quantile = None
    match = _QUANTILE.match(agg) if isinstance(agg, str) else None
    if match:
        quantile = float(match.group(1)) / 100
        if not 0 < quantile < 1:
            raise ParameterError([f"agg: {agg!r} is not a quantile between p0 and p100"])
    elif agg not in AGGREGATIONS:
        raise ParameterError(
            [f"agg: {agg!r} is not one of {', '.join(AGGREGATIONS)} or a quantile like 'p95'"]
        )
    labels = (
        None
        if by is None
        else tuple(_label(b, "by") for b in ([by] if isinstance(by, str) else by))
    )
    start_s, end_s = start_ns / 1e9, end_ns / 1e9
    step_s = auto_step(start_s, end_s) if step is None else check_step(step, start_s, end_s)
    first = math.floor(start_s / step_s) * step_s
    last = first + int((end_s - first) // step_s) * step_s
    return MetricQuery(
        metric=metric,
        where=_where(where),
        by=labels,
        agg="quantile" if quantile is not None else agg,
        quantile=quantile,
        rate=bool(rate),
        start_s=int(first),
        end_s=int(last),
        step_s=step_s,
        window_s=max(step_s, MIN_WINDOW_S),
    )


def histogram_quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float:
    """Prometheus's `histogram_quantile` (``bucketQuantile``) over cumulative bucket counts.

    `cumulative` has one more entry than `bounds` (the +Inf bucket). Counts are made
    monotonic first (rates of separate bucket series can dip by rounding); then linear
    interpolation in the bucket holding the rank, the first bucket starting at 0 (unless
    its bound is <= 0); a rank in the +Inf bucket gives the highest finite bound; no
    observations give NaN.
    """
    counts = list(itertools.accumulate((float(c) for c in cumulative), max))
    if len(counts) < 2 or len(counts) != len(bounds) + 1:
        return math.nan
    total = counts[-1]
    if total <= 0 or math.isnan(total):
        return math.nan
    rank = q * total
    b = next((i for i in range(len(counts) - 1) if counts[i] >= rank), len(counts) - 1)
    if b == len(counts) - 1:
        return float(bounds[-1])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start, end, count = 0.0, float(bounds[b]), counts[b]
    if b > 0:
        start = float(bounds[b - 1])
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)
