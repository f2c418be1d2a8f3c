"""Jaeger's query service over HTTP: its API v3 (``/api/v3/traces``) where it serves one,
its classic JSON API (``/api/services``, ``/api/traces``), and ``/api/metrics/*`` where
Jaeger has Service Performance Monitoring.

API v3 answers with the OpenTelemetry (OTLP) JSON Jaeger 2 stores, so it skips the
conversion to Jaeger's old model that costs the classic API most of its time; whether a
Jaeger serves it is asked once per client (`serves_v3`). The classic API, which every
Jaeger query service has served since 1.x, gives traces with their spans, each span's tags
typed, its service in a ``processes`` table, times in whole microseconds; it is read when
v3 is not served, and for attribute filters, which API v3 over HTTP does not take. Values
from users travel only as query parameters (httpx encodes them), and attribute filters as
the ``tags`` parameter's JSON object (`json.dumps`), never as text we splice together.
SPM's service filter is a Prometheus regular expression on Jaeger's side: each name is
escaped to match only itself.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError
from hxb_lab.frames import gc_paused

if TYPE_CHECKING:
    import httpx

    from hxb_lab.config import Profile

__all__ = ["Jaeger", "MetricsUnavailableError", "open_jaeger"]

T = TypeVar("T")

#: What an answer that is not the query service's JSON API most likely means.
_CHECK = "check that jaeger.url names Jaeger's query service (port 16686), version 1.x or 2.x"
#: What a failing metrics backend behind Jaeger most likely means.
_CHECK_METRICS = (
    "check the Prometheus that Jaeger's metric_backends names (is it up? does it scrape the "
    "spanmetrics connector's exporter?), or set jaeger.metrics = false to read a sample of traces"
)
#: What Prometheus regular expressions treat as syntax (escaped to match a name literally).
_REGEX_SYNTAX = re.compile(r"([\\.+*?()|\[\]{}^$])")


class MetricsUnavailableError(BackendUnavailableError):
    """Jaeger's SPM metrics did not answer: `configured` is False when this Jaeger has no
    metrics backend at all (HTTP 501), True when it has one that failed."""

    def __init__(self, message: str, *, server: str, hint: str, configured: bool) -> None:
        self.configured = configured
        super().__init__(message, server=server, hint=hint)


class Jaeger(HttpApi):
    """A Jaeger query service: its services, trace search and traces by id."""

    name = "Jaeger"
    section = "jaeger"
    #: Whether this Jaeger answers SPM metrics (None: not asked yet; learnt by `metrics`).
    has_metrics: bool | None = None
    #: Whether this Jaeger serves API v3 over HTTP (None: not asked yet; see `serves_v3`).
    has_v3: bool | None = None

    def _check(self, path: str, response: httpx.Response) -> None:
        """Raise what an answer other than success means, on either API: `QueryError` for a
        refused query (HTTP 400), `BackendUnavailableError` for any other failure."""
        if response.status_code == 400:
            raise QueryError(
                f"Jaeger at {self.server} rejected the query: {_message(response.content)}"
            )
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"Jaeger at {self.server} answered HTTP {response.status_code} to {path}: "
                f"{redact(_message(response.content))}",
                server=self.server,
                hint=_CHECK,
            )

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        import orjson

        response = self._send("GET", path, params=params)
        if response.status_code == 404 and path.startswith("/api/traces/"):
            return None  # an unknown trace id
        self._check(path, response)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or "data" not in data:
            raise BackendUnavailableError(
                f"Jaeger at {self.server} answered {path} with something other than its JSON "
                "API (no 'data')",
                server=self.server,
                hint=_CHECK,
            )
        return data["data"]

    def services(self) -> list[str]:
        """Every service name the store holds."""
        return sorted(str(s) for s in self._get("/api/services") or [])

    def find(
        self,
        *,
        start_us: int,
        end_us: int,
        limit: int,
        service: str | None = None,
        operation: str | None = None,
        tags: Mapping[str, str] | None = None,
        min_duration_us: int | None = None,
        max_duration_us: int | None = None,
    ) -> list[dict[str, Any]]:
        """Whole traces with a span matching every filter, started in [start_us, end_us]."""
        params: dict[str, Any] = {"start": start_us, "end": end_us, "limit": limit}
        if service is not None:
            params["service"] = service
        if operation is not None:
            params["operation"] = operation
        if tags:
            params["tags"] = json.dumps(dict(tags), ensure_ascii=False)
        if min_duration_us is not None:
            params["minDuration"] = f"{min_duration_us}us"
        if max_duration_us is not None:
            params["maxDuration"] = f"{max_duration_us}us"
        return list(self._get("/api/traces", params) or [])

    def metrics(
        self,
        what: str,
        *,
        services: Iterable[str],
        kinds: Iterable[str],
        end_ms: int,
        window_s: int,
        quantile: float | None = None,
        by_operation: bool = False,
    ) -> list[tuple[dict[str, str], float]]:
        """SPM's figure `what` (``latencies``, ``calls`` per second, ``errors`` as a share
        of calls) over the `window_s` seconds before `end_ms`, per service (and operation):
        each series' labels and its value at `end_ms` (NaN when there were no spans).

        `window_s` must be whole seconds under a minute, whole minutes under an hour, or
        whole hours: Jaeger writes it into PromQL by its first unit only.
        """
        import orjson

        window_ms = window_s * 1000
        params: dict[str, Any] = {
            "service": [_literal(s) for s in services],
            "spanKind": list(kinds),
            "endTs": end_ms,
            "lookback": 0,  # one point, at end_ms
            "step": window_ms,
            "ratePer": window_ms,
            "groupByOperation": "true" if by_operation else "false",
        }
        if quantile is not None:
            params["quantile"] = quantile
        path = f"/api/metrics/{what}"
        try:
            response = self._send("GET", path, params=params)
        except BackendUnavailableError as exc:  # e.g. Jaeger waiting on a Prometheus that hangs
            raise MetricsUnavailableError(
                f"Jaeger's metrics (SPM) at {self.server} failed: {exc.message}",
                server=self.server,
                hint=_CHECK_METRICS,
                configured=True,
            ) from None
        if response.status_code == 501:
            self.has_metrics = False
            raise MetricsUnavailableError(
                f"Jaeger at {self.server} has no metrics backend (SPM): {path} answered 501",
                server=self.server,
                hint="set jaeger.metrics = false, or give Jaeger's query service a metrics "
                "backend (jaeger_query storage.metrics)",
                configured=False,
            )
        if response.status_code >= 300:
            raise MetricsUnavailableError(
                f"Jaeger's metrics (SPM) at {self.server} failed: {path} answered HTTP "
                f"{response.status_code}: {redact(_message(response.content))}",
                server=self.server,
                hint=_CHECK_METRICS,
                configured=True,
            )
        try:
            data = orjson.loads(response.content)
            series = list(data.get("metrics") or [])
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            raise BackendUnavailableError(
                f"Jaeger at {self.server} answered {path} with something other than its "
                "metrics JSON (no 'metrics' list)",
                server=self.server,
                hint=_CHECK,
            ) from None
        self.has_metrics = True
        return [_point(s) for s in series if isinstance(s, dict)]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace by id (hex), None when the store does not have it."""
        found = self._get(f"/api/traces/{quote(trace_id, safe='')}")
        return found[0] if found else None

    def serves_v3(self) -> bool:
        """Whether this Jaeger serves API v3 over HTTP, asked once: its ``/api/v3/services``
        answers JSON. A 404, or the UI's page (which a Jaeger without API v3 gives for any
        path it does not route), means the classic API only."""
        if self.has_v3 is None:
            path = "/api/v3/services"
            response = self._send("GET", path)
            served = response.status_code != 404 and not (
                response.status_code < 300 and not response.content.lstrip().startswith(b"{")
            )
            if served:
                self._v3_answer(path, response, dict)  # raises what any other answer means
            self.has_v3 = served
        return self.has_v3

    def _get_v3(
        self,
        path: str,
        read: Callable[[dict[str, Any]], T],
        params: Mapping[str, Any] | None = None,
    ) -> T:
        """An API v3 answer's ``result`` (empty when Jaeger found nothing: its HTTP 404) as
        `read` makes it."""
        return self._v3_answer(path, self._send("GET", path, params=params), read)

    def _v3_answer(
        self, path: str, response: httpx.Response, read: Callable[[dict[str, Any]], T]
    ) -> T:
        import orjson

        if response.status_code == 404:
            return read({})  # no such trace, or no trace matched
        self._check(path, response)
        # A large answer is tens of thousands of objects, none in a cycle, alive only
        # until `read` returns: the cyclic collector, paused meanwhile, would only scan
        # them (a full collection of the whole session's objects, most often).
        with gc_paused():
            try:
                data = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                raise BackendUnavailableError(
                    f"Jaeger at {self.server} answered {path} with something other than its "
                    "API v3 JSON",
                    server=self.server,
                    hint=_CHECK,
                )
            result = data.get("result")
            del data
            return read(result if isinstance(result, dict) else {})

    def trace_v3(self, trace_id: str, read: Callable[[dict[str, Any]], T]) -> T:
        """One trace by id (hex) through API v3: its OTLP JSON (``resourceSpans``, empty when
        the store does not have it) as `read` makes it."""
        return self._get_v3(f"/api/v3/traces/{quote(trace_id, safe='')}", read)

    def find_v3(
        self,
        read: Callable[[dict[str, Any]], T],
        *,
        start_ns: int,
        end_ns: int,
        limit: int,
        service: str | None = None,
        operation: str | None = None,
        min_duration_ns: int | None = None,
        max_duration_ns: int | None = None,
    ) -> T:
        """Whole traces with a span matching every filter, started in [start_ns, end_ns],
        through API v3: their OTLP JSON (``resourceSpans`` of every trace, in turn) as
        `read` makes it."""
        params: dict[str, Any] = {
            "query.start_time_min": _rfc3339(start_ns),
            "query.start_time_max": _rfc3339(end_ns),
            "query.num_traces": limit,
        }
        if service is not None:
            params["query.service_name"] = service
        if operation is not None:
            params["query.operation_name"] = operation
        if min_duration_ns is not None:
            params["query.duration_min"] = f"{min_duration_ns}ns"
        if max_duration_ns is not None:
            params["query.duration_max"] = f"{max_duration_ns}ns"
        return self._get_v3("/api/v3/traces", read, params)


def _message(body: bytes) -> str:
    """The message of a Jaeger error answer (``errors[0].msg`` of the classic API,
    ``error.message`` of API v3), else its first 300 characters."""
    import orjson

    try:
        data = orjson.loads(body)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"]["message"])
        return str(data["errors"][0]["msg"])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return body.decode(errors="replace").strip()[:300]


def _rfc3339(ns: int) -> str:
    """Nanoseconds since the epoch as the RFC 3339 time API v3 reads, to the nanosecond."""
    seconds, fraction = divmod(max(ns, 0), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def _literal(name: str) -> str:
    """A service name as a regular expression that matches only that name."""
    return _REGEX_SYNTAX.sub(r"\\\1", name)


def _point(series: Mapping[str, Any]) -> tuple[dict[str, str], float]:
    """One series of an SPM answer: its labels and the value of its (one) point."""
    labels = {
        str(item.get("name", "")): str(item.get("value", ""))
        for item in series.get("labels") or []
        if isinstance(item, dict)
    }
    points = [p for p in series.get("metricPoints") or [] if isinstance(p, dict)]
    if not points:
        return labels, math.nan
    gauge = points[-1].get("gaugeValue") or {}
    try:  # protobuf JSON: a number, or "NaN"/"Infinity" as text; zero may be left out
        value = float(gauge.get("doubleValue", 0.0))
    except (TypeError, ValueError):
        value = math.nan
    return labels, value


def open_jaeger(profile: Profile) -> Jaeger:
    """The profile's Jaeger (the factory for ``wb.clients.get("jaeger")``)."""
    config = profile.jaeger
    if config is None:
        raise ConfigError(
            "the profile has no jaeger section",
            file=profile.source,
            profile=profile.name,
            key="jaeger",
            hint='add jaeger = { url = "http://jaeger-query:16686" }',
        )
    token = config.token.resolve() if config.token else None
    return Jaeger(config.url, token=token, verify=config.verify_tls, timeout=config.timeout_s)
