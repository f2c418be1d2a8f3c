"""A planned metric query as PromQL, with every user value quoted as a PromQL string.

gauge (rate=False): ``<agg> by (labels) (<agg>_over_time(m{where}[window]))``
rate:               ``<agg> by (labels) (rate(m{where}[window]))``
quantile (pNN):     ``histogram_quantile(q, sum by (le, labels) (rate(m_bucket{where}[window])))``
Without `by`, the inner expression alone: every series with all its labels.
"""

from __future__ import annotations

import json
import re

from hxb_lab.errors import ParameterError
from hxb_lab.telemetry._metric_query import MetricQuery

METRIC_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
_OVER_TIME = {"avg": "avg_over_time", "sum": "avg_over_time", "count": "avg_over_time"}


def string(value: str) -> str:
    """A PromQL double-quoted string literal (Go escapes, which JSON's are a subset of)."""
    return json.dumps(value)


def selector(metric: str, where: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    if not METRIC_NAME.match(metric):
        raise ParameterError(
            [f"metric: {metric!r} is not a valid Prometheus metric name (letters, digits, _ and :)"]
        )
    matchers = []
    for label, values in where:
        if len(values) == 1:
            matchers.append(f"{label}={string(values[0])}")
        else:
            alternatives = "|".join(_RE2_SPECIAL.sub(r"\\\1", v) for v in values)
            matchers.append(f"{label}=~{string(alternatives)}")
    return f"{metric}{{{', '.join(matchers)}}}"


def to_promql(q: MetricQuery) -> str:
    window = f"[{q.window_s}s]"
    if q.quantile is not None:
        inner = f"rate({selector(q.metric + '_bucket', q.where)}{window})"
        grouped = inner if q.by is None else f"sum by ({', '.join(('le', *q.by))}) ({inner})"
        return f"histogram_quantile({q.quantile!r}, {grouped})"
    if q.rate:
        inner = f"rate({selector(q.metric, q.where)}{window})"
    else:
        function = _OVER_TIME.get(q.agg, f"{q.agg}_over_time")
        inner = f"{function}({selector(q.metric, q.where)}{window})"
    if q.by is None:
        return inner
    return f"{q.agg} by ({', '.join(q.by)}) ({inner})"
