"""Service and operation figures from Jaeger's Service Performance Monitoring (SPM).

A Jaeger whose query service has a metrics backend answers ``/api/metrics/calls``,
``/errors`` and ``/latencies``: PromQL it runs on the Prometheus that scrapes the
OpenTelemetry spanmetrics connector (a call counter and a duration histogram per service,
span name, kind and status). Those answers are rates and histogram quantiles over a
window ending at the range's end, so here:

- the window is the range's length as Jaeger can write it into PromQL: whole seconds
  under a minute, whole minutes under an hour, whole hours beyond (Jaeger keeps only a
  duration's first unit);
- ``calls`` is the call rate times the window (Prometheus's extrapolated increase: an
  estimate, not a count), ``errors`` the error share of those calls;
- percentiles are ``histogram_quantile`` over the connector's buckets: within one bucket
  of the exact value (the connector's default buckets are coarse; see the README).

`figures` decides between SPM and the sample of traces (`hxb_lab.telemetry._jaeger`) as the
profile's ``jaeger.metrics`` says, and says why in the frame's ``attrs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hxb_lab.clients.jaeger import Jaeger, MetricsUnavailableError
from hxb_lab.warn import FallbackWarning, warn_user

__all__ = ["SAMPLE", "SPM", "Figures", "figures", "probe", "window_s"]

SPM, SAMPLE = "spm", "sample"
#: Services named in one SPM request (their names travel in its URL).
SERVICES_PER_REQUEST = 40
QUANTILES = (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))


def window_s(start_ns: int, end_ns: int) -> int:
    """The SPM window for [start_ns, end_ns): its length in the nearest whole seconds
    (under a minute), minutes (under an hour) or hours, at least one second."""
    seconds = max((end_ns - start_ns) / 1e9, 1.0)
    unit = 3600 if seconds >= 3600 else 60 if seconds >= 60 else 1
    return max(round(seconds / unit), 1) * unit


def _span(seconds: int) -> str:
    """A window as people say it: ``90 s``, ``5 min``, ``2 h``."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


@dataclass
class Figures:
    """SPM's rows (None: use the sample of traces) and what the frame's attrs say."""

    rows: list[dict[str, Any]] | None
    attrs: dict[str, Any] = field(default_factory=dict)


def figures(
    jaeger: Jaeger,
    setting: bool | None,
    service: str | None,
    kinds: Sequence[str],
    start_ns: int,
    end_ns: int,
) -> Figures:
    """Services (`service` None) or one service's operations from SPM, when `setting`
    (``jaeger.metrics``) allows it: True requires SPM (a failure is the error), None uses
    it when this Jaeger answers it (a Jaeger without metrics is remembered; a failing
    metrics backend is one `FallbackWarning` and the reason in the attrs), False never."""
    if setting is False:
        return Figures(None, {"percentile_source": SAMPLE})
    if setting is None and jaeger.has_metrics is False:
        return Figures(None, {"percentile_source": SAMPLE, "spm": "not served by this Jaeger"})
    try:
        return _read(jaeger, service, kinds, start_ns, end_ns)
    except MetricsUnavailableError as exc:
        if setting is True:
            raise
        if not exc.configured:
            return Figures(None, {"percentile_source": SAMPLE, "spm": "not served by this Jaeger"})
        reason = exc.message
        warn_user(f"{reason}; figures come from a sample of traces instead", FallbackWarning)
        return Figures(None, {"percentile_source": SAMPLE, "spm": f"failed: {reason}"})


def probe(jaeger: Jaeger, setting: bool | None, services: Sequence[str], end_ns: int) -> str:
    """What `hxb-lab profile check` says of Jaeger's span metrics, from one question (the
    call rate of the first service over the last hour); with `setting` True a failure is
    the error, as it is for `figures`."""
    if setting is False:
        return "span metrics (SPM) not used (jaeger.metrics = false)"
    if not services:
        return "span metrics (SPM) not asked (no services yet)"
    try:
        jaeger.metrics("calls", services=services[:1], kinds=("server",),
                       end_ms=end_ns // 10**6, window_s=3600)  # fmt: skip
    except MetricsUnavailableError as exc:
        if setting is True:
            raise
        if not exc.configured:
            return "no span metrics (SPM): figures from a sample of traces"
        return f"span metrics (SPM) failed: {exc.message}; figures from a sample of traces"
    return "figures from its span metrics (SPM)"


def _read(
    jaeger: Jaeger, service: str | None, kinds: Sequence[str], start_ns: int, end_ns: int
) -> Figures:
    window = window_s(start_ns, end_ns)
    end_ms = end_ns // 10**6
    groups: list[tuple[list[str], tuple[str, ...], str | None]]
    if service is None:
        names = jaeger.services()
        groups = [
            (names[i : i + SERVICES_PER_REQUEST], tuple(kinds), None)
            for i in range(0, len(names), SERVICES_PER_REQUEST)
        ]
    else:  # SPM groups by operation, not by kind: one set of requests per kind
        groups = [([service], (kind,), kind) for kind in kinds]
    rows: list[dict[str, Any]] = []
    for names, asked, kind in groups:
        rows.extend(_group(jaeger, names, asked, kind, end_ms, window))
    rows.sort(key=lambda r: (r["service"],) if service is None else (r["operation"], r["kind"]))
    if service is not None:
        for row in rows:
            del row["service"]
    asked_s = (end_ns - start_ns) / 1e9
    note = "" if abs(window - asked_s) < 0.5 else f" (the range is {asked_s:g} s)"
    return Figures(
        rows,
        {
            "percentile_source": SPM,
            "percentiles": "from Jaeger's span metrics (SPM): Prometheus histogram quantiles "
            f"over the {_span(window)} before the end{note}, within one bucket of the "
            "spanmetrics histogram; calls and errors are rates times that window",
            "spm_window_s": window,
        },
    )


def _group(
    jaeger: Jaeger,
    names: Sequence[str],
    kinds: tuple[str, ...],
    kind: str | None,
    end_ms: int,
    window: int,
) -> list[dict[str, Any]]:
    """The rows of one SPM request set: calls first, the rest only where there were calls."""
    by_operation = kind is not None

    def ask(what: str, quantile: float | None = None) -> dict[tuple[str, str], float]:
        answer = jaeger.metrics(
            what, services=names, kinds=kinds, end_ms=end_ms, window_s=window,
            quantile=quantile, by_operation=by_operation,
        )  # fmt: skip
        return {
            (labels.get("service_name", ""), labels.get("operation", "")): value
            for labels, value in answer
        }

    calls = {
        key: max(round(rate * window), 1)
        for key, rate in ask("calls").items()
        if math.isfinite(rate) and rate > 0
    }
    if not calls:
        return []
    shares = ask("errors")
    quantiles = {column: ask("latencies", q) for column, q in QUANTILES}
    rows = []
    for key, count in calls.items():
        share = shares.get(key, 0.0)
        share = share if math.isfinite(share) else 0.0
        row: dict[str, Any] = {"service": key[0]}
        if kind is not None:
            row.update(operation=key[1], kind=kind)
        row.update(
            calls=count,
            errors=round(share * count),
            error_rate=share,
            **{column: found.get(key, math.nan) for column, found in quantiles.items()},
        )
        rows.append(row)
    return rows
