"""Jaeger's query service over its JSON HTTP API (``/api/services``, ``/api/traces``).

The API every Jaeger query service has served since 1.x, v2 included: traces as JSON with
their spans, each span's tags typed, its service in a ``processes`` table. Times are whole
microseconds. Values from users travel only as query parameters (httpx encodes them), and
attribute filters as the ``tags`` parameter's JSON object (`json.dumps`), never as text we
splice together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError

if TYPE_CHECKING:
    from hxb_lab.config import Profile

__all__ = ["Jaeger", "open_jaeger"]

#: What an answer that is not the query service's JSON API most likely means.
_CHECK = "check that jaeger.url names Jaeger's query service (port 16686), version 1.x or 2.x"


class Jaeger(HttpApi):
    """A Jaeger query service: its services, trace search and traces by id."""

    name = "Jaeger"
    section = "jaeger"

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        import orjson

        response = self._send("GET", path, params=params)
        if response.status_code == 400:
            raise QueryError(
                f"Jaeger at {self.server} rejected the query: {_message(response.content)}"
            )
        if response.status_code == 404 and path.startswith("/api/traces/"):
            return None  # an unknown trace id
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"Jaeger at {self.server} answered HTTP {response.status_code} to {path}: "
                f"{redact(_message(response.content))}",
                server=self.server,
                hint=_CHECK,
            )
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

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace by id (hex), None when the store does not have it."""
        found = self._get(f"/api/traces/{quote(trace_id, safe='')}")
        return found[0] if found else None


def _message(body: bytes) -> str:
    """The ``errors[0].msg`` of a Jaeger error answer, else its first 300 characters."""
    import orjson

    try:
        data = orjson.loads(body)
        return str(data["errors"][0]["msg"])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return body.decode(errors="replace").strip()[:300]


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
