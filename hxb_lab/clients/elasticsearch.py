"""Elasticsearch or OpenSearch over their common REST API: search, field capabilities, indices.

Requests carry the query DSL as JSON (`httpx` serialises it), so a value from a user is a
JSON string inside the body, never text spliced into a query language. The server's
version is asked once (``GET /``): Elasticsearch 7.10 or newer and OpenSearch 1 or newer
answer the queries HXB Lab sends; anything else is a one-line `BackendUnavailableError`
naming the server and the version it gave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from hxb_lab._redact import redact
from hxb_lab.clients._http import HttpApi
from hxb_lab.errors import BackendUnavailableError, ConfigError, QueryError

if TYPE_CHECKING:
    import httpx

    from hxb_lab.config import Profile

__all__ = ["Elasticsearch", "open_elasticsearch"]

#: The oldest versions whose search API (search_after, field capabilities, case-insensitive
#: term queries) the log search uses.
OLDEST = {"elasticsearch": (7, 10), "opensearch": (1, 0)}
#: Missing indices give empty answers rather than errors (a pattern may match nothing yet).
LENIENT = {"ignore_unavailable": "true", "allow_no_indices": "true"}


class Elasticsearch(HttpApi):
    """An Elasticsearch or OpenSearch server (`product` says which, once it has answered)."""

    name = "Elasticsearch"
    section = "elasticsearch"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        verify: bool = True,
        timeout: float = 30.0,
        compress: bool = False,
        transport: Any = None,
    ) -> None:
        super().__init__(url, verify=verify, timeout=timeout, transport=transport)
        # Answers come uncompressed unless asked (as with the official clients): on a fast
        # network gzip costs both ends more time than it saves in bytes.
        self._http.headers["Accept-Encoding"] = "gzip" if compress else "identity"
        if api_key:
            self._http.headers["Authorization"] = f"ApiKey {api_key}"
        elif username:
            import httpx

            self._http.auth = httpx.BasicAuth(username, password or "")
        self._version: tuple[str, str] | None = None
        self.product = "Elasticsearch"  # "OpenSearch" once the server said so

    def version(self) -> tuple[str, str]:
        """(product, version number) of the server, e.g. ``("opensearch", "2.19.6")``; a
        server too old, or not speaking this API at all, is refused once, by name."""
        if self._version is None:
            info = self._json(self._send("GET", "/"))
            number = (info.get("version") or {}).get("number") if isinstance(info, dict) else None
            if not isinstance(number, str):
                raise BackendUnavailableError(
                    f"{self.server} does not answer as Elasticsearch or OpenSearch "
                    "(no version in its answer to GET /)",
                    server=self.server,
                    hint="check the profile's elasticsearch.url",
                )
            product = str(info["version"].get("distribution") or "elasticsearch").lower()
            release = _release(number)
            oldest = OLDEST.get(product)
            if oldest is None or release < oldest:
                need = "Elasticsearch 7.10 or newer, or OpenSearch 1.0 or newer"
                raise BackendUnavailableError(
                    f"{product.capitalize()} at {self.server} answered version {number}, "
                    "which HXB Lab cannot search",
                    server=self.server,
                    hint=f"point elasticsearch.url at {need}",
                )
            self.product = "OpenSearch" if product == "opensearch" else "Elasticsearch"
            self._version = (product, number)
        return self._version

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /{index}/_search`` with the query DSL `body`; missing indices give no hits."""
        self.version()
        path = f"/{_index(index)}/_search"
        answer: dict[str, Any] = self._json(
            self._send("POST", path, params=LENIENT, content=orjson.dumps(body),
                       headers={"Content-Type": "application/json"}), index
        )  # fmt: skip
        return answer

    def field_caps(self, index: str) -> dict[str, Any]:
        """The fields of `index` and their types (``GET /{index}/_field_caps?fields=*``)."""
        self.version()
        params = {"fields": "*", **LENIENT}
        answer: dict[str, Any] = self._json(
            self._send("GET", f"/{_index(index)}/_field_caps", params=params), index
        )
        return answer

    def indices(self, index: str) -> list[dict[str, Any]]:
        """The indices `index` names, with their document counts (``_cat/indices``)."""
        self.version()
        params = {"format": "json", "h": "index,docs.count", "s": "index", **LENIENT}
        answer = self._json(self._send("GET", f"/_cat/indices/{_index(index)}", params=params))
        return list(answer) if isinstance(answer, list) else []

    def _json(self, response: httpx.Response, index: str | None = None) -> Any:
        if response.status_code in (401, 403):
            raise BackendUnavailableError(
                f"{self.product} at {self.server} refused the request (HTTP {response.status_code})",
                server=self.server,
                hint="check the profile's elasticsearch.username and password, or api_key",
            )
        if response.status_code == 400:
            raise QueryError(
                f"{self.product} at {self.server} rejected the search of {index!r}: "
                f"{redact(_reason(response.content))}"
            )
        if response.status_code >= 300:
            raise BackendUnavailableError(
                f"{self.product} at {self.server} answered HTTP {response.status_code}: "
                f"{redact(_reason(response.content))}",
                server=self.server,
                hint="check that it is healthy and the profile's elasticsearch.index",
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise BackendUnavailableError(
                f"{self.product} at {self.server} answered something that is not JSON",
                server=self.server,
                hint="check the profile's elasticsearch.url",
            ) from None


def _index(index: str) -> str:
    return quote(index, safe=",*-_.")


def _release(number: str) -> tuple[int, int]:
    parts = [*number.split("-")[0].split("."), "0", "0"][:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return (0, 0)


def _reason(body: bytes) -> str:
    """The root cause an error answer gives, else the start of its text."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace").strip()[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        first = causes[0] if isinstance(causes, list) and causes else error
        return f"{first.get('type', 'error')}: {first.get('reason', '')}"[:300]
    return str(error or data)[:300]


def open_elasticsearch(profile: Profile) -> Elasticsearch:
    """The profile's Elasticsearch or OpenSearch (the factory for ``clients.get``)."""
    config = profile.elasticsearch
    if config is None:
        raise ConfigError(
            "the profile has no elasticsearch section",
            file=profile.source,
            profile=profile.name,
            key="elasticsearch",
            hint='add elasticsearch = { url = "https://elasticsearch.example:9200" }',
        )
    return Elasticsearch(
        config.url,
        username=config.username,
        password=config.password.resolve() if config.password else None,
        api_key=config.api_key.resolve() if config.api_key else None,
        verify=config.verify_tls,
        timeout=config.timeout_s,
        compress=config.compress,
    )
