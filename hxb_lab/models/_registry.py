"""The MLflow model registry of a profile, behind one narrow interface.

`RestRegistry` speaks the registry REST API (``/api/2.0/mlflow/registered-models/...``,
``model-versions/...``) to a tracking server over httpx: a handful of GETs that cost
milliseconds, where ``import mlflow`` costs seconds. `LibraryRegistry` wraps
``mlflow.MlflowClient`` for every other registry URI (the demo's SQLite store, ...).

Both return plain dicts. A registered model: ``{name, description, created_ms,
updated_ms, aliases: {alias: version}, tags}``; a version: ``{name, version (int), stage,
status, run_id, source, description, created_ms, updated_ms, tags}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

from hxb_lab._redact import redact, redact_url
from hxb_lab.config import Profile
from hxb_lab.errors import BackendUnavailableError, NotFoundError, ParameterError, QueryError

__all__ = ["LibraryRegistry", "Registry", "RestRegistry", "open_registry", "versions_filter"]

Obj = dict[str, Any]
PAGE = 1000


class Registry(Protocol):
    uri: str

    def registered_models(self) -> list[Obj]: ...

    def registered_model(self, name: str) -> Obj: ...

    def versions(self, name: str) -> list[Obj]: ...

    def all_versions(self) -> list[Obj]: ...

    def version(self, name: str, version: int) -> Obj: ...

    def version_by_alias(self, name: str, alias: str) -> Obj: ...

    def download_uri(self, name: str, version: int) -> str: ...

    def close(self) -> None: ...


def versions_filter(name: str) -> str:
    """The filter string selecting one model's versions.

    MLflow's filter language has no bound parameters, so the name is quoted with the
    quote character it does not contain; a name containing both is refused.
    """
    if "'" not in name:
        return f"name='{name}'"
    if '"' not in name:
        return f'name="{name}"'
    raise ParameterError([f"model: {name!r} contains both quote characters"])


def _missing(what: str, uri: str, message: str) -> NotFoundError:
    return NotFoundError(
        redact(f"{what} is not in the model registry at {redact_url(uri)}: {message}"),
        hint="see wb.models.registered() and wb.models.versions(name)",
    )


def _int(value: Any) -> int:
    return int(str(value))


# ------------------------------------------------------------------------------- REST


class RestRegistry:
    """The registry REST API of an MLflow tracking server."""

    def __init__(self, uri: str, token: str | None = None, timeout_s: float = 30.0) -> None:
        import httpx

        self.uri = uri.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.uri, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def _get(self, endpoint: str, params: dict[str, Any], what: str) -> Obj:
        import httpx

        try:
            response = self._http.get(f"/api/2.0/mlflow/{endpoint}", params=params)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                redact(f"cannot reach the MLflow registry {redact_url(self.uri)}: {exc}"),
                server=redact_url(self.uri),
                hint="check that the tracking server is up and that mlflow.tracking_uri "
                "(or registry_uri) points at it",
            ) from None
        try:
            body: Obj = response.json() if response.content else {}
        except ValueError:
            body = {"message": response.text[:300]}
        if response.status_code >= 400:
            code = body.get("error_code", f"HTTP {response.status_code}")
            message = str(body.get("message", ""))
            if (
                code == "RESOURCE_DOES_NOT_EXIST"
                or response.status_code == 404
                or "not found" in message.lower()  # an alias: INVALID_PARAMETER_VALUE
            ):
                raise _missing(what, self.uri, message)
            text = redact(f"MLflow {endpoint}: {code}: {message}")
            if response.status_code < 500:
                raise QueryError(text)
            raise BackendUnavailableError(text, server=redact_url(self.uri))
        return body

    def _pages(self, endpoint: str, key: str, params: Obj, what: str) -> Iterator[Obj]:
        token = None
        while True:
            query = {**params, "max_results": PAGE, **({"page_token": token} if token else {})}
            body = self._get(endpoint, query, what)
            yield from body.get(key, [])
            token = body.get("next_page_token")
            if not token:
                return

    def registered_models(self) -> list[Obj]:
        return [
            _rest_model(m)
            for m in self._pages("registered-models/search", "registered_models", {}, "models")
        ]

    def registered_model(self, name: str) -> Obj:
        body = self._get("registered-models/get", {"name": name}, f"model {name!r}")
        return _rest_model(body["registered_model"])

    def versions(self, name: str) -> list[Obj]:
        params = {"filter": versions_filter(name)}
        found = self._pages("model-versions/search", "model_versions", params, f"model {name!r}")
        return [_rest_version(v) for v in found if v.get("name") == name]

    def all_versions(self) -> list[Obj]:
        found = self._pages("model-versions/search", "model_versions", {}, "versions")
        return [_rest_version(v) for v in found]

    def version(self, name: str, version: int) -> Obj:
        what = f"version {version} of model {name!r}"
        body = self._get("model-versions/get", {"name": name, "version": str(version)}, what)
        return _rest_version(body["model_version"])

    def version_by_alias(self, name: str, alias: str) -> Obj:
        what = f"alias {alias!r} of model {name!r}"
        body = self._get("registered-models/alias", {"name": name, "alias": alias}, what)
        return _rest_version(body["model_version"])

    def download_uri(self, name: str, version: int) -> str:
        what = f"version {version} of model {name!r}"
        params = {"name": name, "version": str(version)}
        return str(self._get("model-versions/get-download-uri", params, what)["artifact_uri"])


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["key"]): str(i.get("value", "")) for i in items or ()}


def _rest_model(raw: Obj) -> Obj:
    return {
        "name": raw["name"],
        "description": raw.get("description") or None,
        "created_ms": _int(raw.get("creation_timestamp") or 0),
        "updated_ms": _int(raw.get("last_updated_timestamp") or 0),
        "aliases": {a["alias"]: _int(a["version"]) for a in raw.get("aliases") or ()},
        "tags": _pairs(raw.get("tags")),
    }


def _rest_version(raw: Obj) -> Obj:
    return {
        "name": raw["name"],
        "version": _int(raw["version"]),
        "stage": raw.get("current_stage") or "None",
        "status": raw.get("status") or "READY",
        "run_id": raw.get("run_id") or None,
        "source": raw.get("source") or None,
        "description": raw.get("description") or None,
        "created_ms": _int(raw.get("creation_timestamp") or 0),
        "updated_ms": _int(raw.get("last_updated_timestamp") or 0),
        "tags": _pairs(raw.get("tags")),
    }


# ---------------------------------------------------------------------------- library


class LibraryRegistry:
    """``mlflow.MlflowClient`` for registries that are not a tracking server."""

    def __init__(self, client: Any, uri: str) -> None:
        self.client = client
        self.uri = uri

    def close(self) -> None:
        pass

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in exc.message.lower():
                raise _missing(what, self.uri, exc.message) from None
            if exc.error_code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
                raise QueryError(redact(f"MLflow: {exc.message}")) from None
            raise BackendUnavailableError(
                redact(f"the MLflow registry at {redact_url(self.uri)} failed: {exc.message}"),
                server=redact_url(self.uri),
            ) from None

    def registered_models(self) -> list[Obj]:
        found: list[Obj] = []
        token = None
        while True:
            page = self._call(
                "models", self.client.search_registered_models, max_results=PAGE, page_token=token
            )
            found.extend(_library_model(m) for m in page)
            token = page.token
            if not token:
                return found

    def registered_model(self, name: str) -> Obj:
        return _library_model(self._call(f"model {name!r}", self.client.get_registered_model, name))

    def _search_versions(self, what: str, filter_string: str | None) -> list[Obj]:
        found: list[Obj] = []
        token = None
        while True:
            page = self._call(
                what,
                self.client.search_model_versions,
                filter_string,
                max_results=PAGE,
                page_token=token,
            )
            found.extend(_library_version(v) for v in page)
            token = page.token
            if not token:
                return found

    def versions(self, name: str) -> list[Obj]:
        found = self._search_versions(f"model {name!r}", versions_filter(name))
        return [v for v in found if v["name"] == name]

    def all_versions(self) -> list[Obj]:
        return self._search_versions("versions", None)

    def version(self, name: str, version: int) -> Obj:
        what = f"version {version} of model {name!r}"
        return _library_version(self._call(what, self.client.get_model_version, name, str(version)))

    def version_by_alias(self, name: str, alias: str) -> Obj:
        what = f"alias {alias!r} of model {name!r}"
        return _library_version(
            self._call(what, self.client.get_model_version_by_alias, name, alias)
        )

    def download_uri(self, name: str, version: int) -> str:
        what = f"version {version} of model {name!r}"
        fn = self.client.get_model_version_download_uri
        return str(self._call(what, fn, name, str(version)))


def _library_model(m: Any) -> Obj:
    return {
        "name": m.name,
        "description": m.description or None,
        "created_ms": int(m.creation_timestamp or 0),
        "updated_ms": int(m.last_updated_timestamp or 0),
        "aliases": {str(k): _int(v) for k, v in (m.aliases or {}).items()},
        "tags": {str(k): str(v) for k, v in (m.tags or {}).items()},
    }


def _library_version(v: Any) -> Obj:
    return {
        "name": v.name,
        "version": _int(v.version),
        "stage": v.current_stage or "None",
        "status": v.status or "READY",
        "run_id": v.run_id or None,
        "source": v.source or None,
        "description": v.description or None,
        "created_ms": int(v.creation_timestamp or 0),
        "updated_ms": int(v.last_updated_timestamp or 0),
        "tags": {str(k): str(val) for k, val in (v.tags or {}).items()},
    }


# ---------------------------------------------------------------------------- opening


def open_registry(profile: Profile) -> Registry:
    """The profile's registry: REST for ``http(s)://`` servers, else the mlflow library."""
    from hxb_lab.clients.mlflow import open_mlflow, unavailable

    config = profile.mlflow_or_default()
    uri = config.registry_uri or config.tracking_uri
    if urlsplit(uri).scheme in ("http", "https"):
        token = config.token.resolve() if config.token is not None else None
        return RestRegistry(uri, token=token)
    try:
        return LibraryRegistry(open_mlflow(profile), uri)
    except Exception as exc:
        raise unavailable(profile, exc) from None
