"""Kubernetes API connections: one `KubeContext` per kubeconfig context of a profile.

Built on the `kubernetes` client (kubeconfig parsing, TLS, tokens and their refresh), but
requests go out raw and come back as bytes parsed with orjson: deserialising into the
client's model classes costs more than the whole request. In a pod with no kubeconfig (a
runbook Job), the pod's service account is the one context, ``in-cluster``. HTTP failures become
`hxb_lab.errors` with the server, user, verb, resource and namespace in the message.
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hxb_lab._redact import redact
from hxb_lab.config import Profile
from hxb_lab.errors import (
    AdmissionDeniedError,
    ClusterError,
    ClusterUnavailableError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
)

__all__ = ["GoneError", "KubeClients", "KubeContext", "kubeconfig_paths", "open_kube"]

_USER = re.compile(r'User "([^"]+)"')
#: How the API server words a webhook's refusal (Gatekeeper answers 403, others 400).
_DENIED = re.compile(r'admission webhook "([^"]+)" denied the request: (.*)', re.S)
#: Where Kubernetes mounts a pod's service-account token, CA and namespace.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER = "in-cluster"


class GoneError(ClusterError):
    """HTTP 410: a continue token or resourceVersion has expired; list again from scratch."""


@dataclass(frozen=True)
class ContextInfo:
    """What a kubeconfig says about one context."""

    name: str
    server: str
    user: str
    namespace: str | None
    kubeconfig: str


def kubeconfig_paths(profile: Profile) -> list[Path]:
    """The kubeconfig files: the profile's, else $KUBECONFIG (a path list), else ~/.kube/config."""
    value = profile.kube.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


def _read_kubeconfig(paths: Sequence[Path]) -> dict[str, Any]:
    """Merge kubeconfig files as kubectl does: for each name, the first file wins."""
    import yaml

    merged: dict[str, Any] = {"clusters": {}, "contexts": {}, "users": {}, "current": None}
    for path in paths:
        if not path.exists() and len(paths) > 1:
            continue
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(
                "the kubeconfig file does not exist",
                file=str(path),
                hint="set kube.kubeconfig in the profile, or KUBECONFIG",
            ) from None
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"not a valid kubeconfig: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise ConfigError("not a valid kubeconfig: expected a mapping", file=str(path))
        for section in ("clusters", "contexts", "users"):
            entries = data.get(section) or []
            if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
            ):
                raise ConfigError(
                    f"not a valid kubeconfig: {section!r} must be a list of named entries",
                    file=str(path),
                )
            for entry in entries:
                merged[section].setdefault(entry["name"], (entry.get(section[:-1]) or {}, path))
        if merged["current"] is None and data.get("current-context"):
            merged["current"] = str(data["current-context"])
    return merged


def _in_cluster(profile: Profile, paths: Sequence[Path]) -> ContextInfo | None:
    """The pod's own service account, when this runs in a pod and no kubeconfig is set."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    chosen = profile.kube.kubeconfig or os.environ.get("KUBECONFIG")
    if chosen or not host or any(p.exists() for p in paths):
        return None
    if not (SERVICE_ACCOUNT_DIR / "token").is_file() or profile.kube.contexts:
        return None
    namespace = SERVICE_ACCOUNT_DIR / "namespace"
    return ContextInfo(
        name=IN_CLUSTER,
        server=f"https://{f'[{host}]' if ':' in host else host}:{port}",
        user="service account",
        namespace=namespace.read_text().strip() if namespace.is_file() else None,
        kubeconfig=IN_CLUSTER,
    )


def describe_contexts(profile: Profile) -> list[ContextInfo]:
    """The profile's contexts (or the current one) as the kubeconfig describes them; in a
    pod without a kubeconfig, the pod's service account."""
    paths = kubeconfig_paths(profile)
    pod = _in_cluster(profile, paths)
    if pod is not None:
        return [pod]
    config = _read_kubeconfig(paths)
    where = os.pathsep.join(str(p) for p in paths)
    wanted = list(profile.kube.contexts) or ([config["current"]] if config["current"] else [])
    if not wanted:
        raise ConfigError(
            "the kubeconfig has no current-context and the profile names no contexts",
            file=where,
            profile=profile.name,
            key="kube.contexts",
        )
    found = []
    for name in wanted:
        if name not in config["contexts"]:
            known = ", ".join(sorted(config["contexts"])) or "none"
            raise ConfigError(
                f"unknown context {name!r} in the kubeconfig",
                file=where,
                profile=profile.name,
                key="kube.contexts",
                hint=f"contexts defined there: {known}",
            )
        ctx, path = config["contexts"][name]
        cluster, _ = config["clusters"].get(ctx.get("cluster"), ({}, path))
        if not cluster.get("server"):
            raise ConfigError(
                f"context {name!r} names cluster {ctx.get('cluster')!r}, which has no server",
                file=str(path),
            )
        found.append(
            ContextInfo(
                name=name,
                server=str(cluster["server"]),
                user=str(ctx.get("user") or ""),
                namespace=ctx.get("namespace"),
                kubeconfig=where,
            )
        )
    return found


class KubeContext:
    """One context's connection: raw JSON requests, paginated lists, watch streams."""

    def __init__(self, info: ContextInfo, api_client: Any, timeout_s: float) -> None:
        self.info = info
        self.name = info.name
        self.server = info.server
        self.timeout_s = timeout_s
        self._api = api_client
        self._pool = api_client.rest_client.pool_manager

    def __repr__(self) -> str:
        return f"<KubeContext {self.name!r} {redact(self.server)}>"

    # ------------------------------------------------------------------ requests
    def _timeout(self, read: float | None) -> Any:
        import urllib3

        connect = min(self.timeout_s, 5.0)
        return urllib3.Timeout(connect=connect, read=self.timeout_s if read is None else read)

    def open(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        read_timeout: float | None = None,
        what: tuple[str, str, str | None] | None = None,
    ) -> Any:
        """Send one request; returns the (unread) urllib3 response of a 2xx answer.

        `what` is (verb, resource, namespace), used to word a 403.
        """
        import urllib3

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        _method, url, headers, _body, _post = self._api.param_serialize(
            method,
            path,
            query_params=list(params),
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        try:
            resp = self._pool.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=self._timeout(read_timeout),
                preload_content=False,
                retries=urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise self.unavailable(exc) from None
        if resp.status >= 300:
            data = resp.data
            resp.release_conn()
            raise self._error(resp.status, data, method, path, what)
        return resp

    def json(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        body: Any = None,
        *,
        content_type: str = "application/json",
        what: tuple[str, str, str | None] | None = None,
    ) -> Any:
        """One request with a JSON body (if any), returning the decoded JSON answer."""
        import urllib3

        raw = None if body is None else orjson.dumps(body)
        resp = self.open(method, path, params, body=raw, content_type=content_type, what=what)
        try:
            data = resp.data
        except urllib3.exceptions.HTTPError as exc:
            raise self.unavailable(exc) from None
        finally:
            resp.release_conn()
        return orjson.loads(data) if data else None

    def raw(
        self,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        what: tuple[str, str, str | None] | None = None,
    ) -> bytes:
        """The body of a GET, undecoded."""
        import urllib3

        resp = self.open("GET", path, params, what=what)
        try:
            data: bytes = resp.data
        except urllib3.exceptions.HTTPError as exc:
            raise self.unavailable(exc) from None
        finally:
            resp.release_conn()
        return data

    def list_pages(
        self,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        limit: int = 500,
        what: tuple[str, str, str | None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The pages of a list (`limit` items each, following `continue`) as decoded JSON.

        The next page is fetched in a thread while this one is parsed, so the server's
        work and ours overlap. On 410 Gone (the continue token expired) the list starts
        again from the first page, as client-go's pager does, leaving out the objects
        already yielded.
        """
        seen: set[str] | None = None  # uids yielded before a relist
        yielded: list[str] = []
        fetcher = _Prefetcher(self, path, params, limit, what, None)
        try:
            while True:
                used, body, guessed = fetcher.next()
                if isinstance(body, BaseException):
                    if isinstance(body, GoneError) and used is not None:
                        fetcher.close()
                        seen = set(yielded)
                        fetcher = _Prefetcher(self, path, params, limit, what, None)
                        continue
                    raise body
                page: dict[str, Any] = orjson.loads(body)
                items = page.get("items") or []
                if seen is not None:
                    items = [i for i in items if (i.get("metadata") or {}).get("uid") not in seen]
                    page["items"] = items
                yielded.extend((i.get("metadata") or {}).get("uid", "") for i in items)
                token = (page.get("metadata") or {}).get("continue")
                yield page
                if not token:
                    return
                if token != guessed:  # the prefetcher misread the token: go on from the real one
                    fetcher.close()
                    fetcher = _Prefetcher(self, path, params, limit, what, token)
        finally:
            fetcher.close()

    def close(self) -> None:
        self._api.close()

    # ------------------------------------------------------------------ errors
    def unavailable(self, exc: BaseException) -> ClusterUnavailableError:
        reason = getattr(exc, "reason", None) or exc
        return ClusterUnavailableError(
            redact(
                f"cannot reach the Kubernetes API server {self.server} (context {self.name!r}) "
                f"within {self.timeout_s:g}s: {reason}"
            ),
            server=self.server,
            hint="check that the cluster is up and the kubeconfig points at it; "
            "kube.request_timeout_s sets the timeout",
        )

    def _error(
        self,
        status: int,
        data: bytes,
        method: str,
        path: str,
        what: tuple[str, str, str | None] | None,
    ) -> ClusterError:
        try:
            body = orjson.loads(data)
            message = str(body.get("message") or body)
        except (orjson.JSONDecodeError, AttributeError):
            message = data.decode("utf-8", "replace")[:500]
        message = redact(message)
        where = f"{method} {path} on context {self.name!r}"
        denied = _DENIED.search(message)
        if denied:
            return AdmissionDeniedError(
                f"{where}: {message}", webhook=denied.group(1), reason=denied.group(2).strip()
            )
        if status == 403:
            match = _USER.search(message)
            verb, resource, namespace = what or (method.lower(), path, None)
            return ForbiddenError(
                user=match.group(1) if match else self.info.user or None,
                verb=verb,
                resource=resource,
                namespace=namespace,
            )
        if status == 410:
            return GoneError(f"{where}: {message}")
        if status == 404:
            return NotFoundError(f"{where}: not found: {message}")
        if status == 409:
            return ConflictError(f"{where}: {message}")
        if status == 401:
            return ClusterError(
                f"the API server {self.server} rejected the credentials of context "
                f"{self.name!r}: {message}",
                hint="renew the credentials in the kubeconfig",
            )
        if status in (502, 503, 504):
            return ClusterUnavailableError(f"{where}: HTTP {status}: {message}", server=self.server)
        return ClusterError(f"{where}: HTTP {status}: {message}")


_CONTINUE = re.compile(rb'"continue":"([^"]*)"')


class _Prefetcher:
    """Fetches the pages of one list in a thread, one page ahead of the parser.

    The next page's token is read from the raw bytes (list metadata comes before the
    items); `list_pages` checks it against the parsed one.
    """

    def __init__(
        self,
        context: KubeContext,
        path: str,
        params: Sequence[tuple[str, str]],
        limit: int,
        what: tuple[str, str, str | None] | None,
        token: str | None,
    ) -> None:
        self.context = context
        self.path = path
        self.params = list(params)
        self.limit = limit
        self.what = what
        self.pages: queue.Queue[tuple[str | None, bytes | BaseException, str | None]] = queue.Queue(
            maxsize=1
        )
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(token,), daemon=True)
        self.thread.start()

    def _run(self, token: str | None) -> None:
        while not self.stopped.is_set():
            query = [*self.params, ("limit", str(self.limit))]
            if token:
                query.append(("continue", token))
            try:
                body = self.context.raw(self.path, query, self.what)
            except BaseException as exc:  # handed to the parser, which raises it
                self._put((token, exc, None))
                return
            head = body.find(b'"items"')
            found = _CONTINUE.search(body, 0, head if head >= 0 else 4096)
            following = found.group(1).decode() if found else None
            self._put((token, body, following))
            if not following:
                return
            token = following

    def _put(self, item: tuple[str | None, bytes | BaseException, str | None]) -> None:
        while not self.stopped.is_set():
            try:
                self.pages.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def next(self) -> tuple[str | None, bytes | BaseException, str | None]:
        return self.pages.get()

    def close(self) -> None:
        self.stopped.set()


class KubeClients:
    """The contexts of one profile, opened together and closed together."""

    def __init__(self, contexts: Sequence[KubeContext]) -> None:
        self.contexts = list(contexts)

    def __iter__(self) -> Iterator[KubeContext]:
        return iter(self.contexts)

    def __repr__(self) -> str:
        return f"<KubeClients {[c.name for c in self.contexts]}>"

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


def _api_client(info: ContextInfo, paths: Sequence[Path]) -> Any:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    if info.kubeconfig == IN_CLUSTER:
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise ConfigError(f"cannot use the pod's service account: {exc}") from None
        configuration.connection_pool_maxsize = 16
        return client.ApiClient(configuration)
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.pathsep.join(str(p) for p in paths),
            context=info.name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, ValueError, OSError) as exc:
        raise ConfigError(
            f"cannot use context {info.name!r}: {exc}", file=info.kubeconfig
        ) from None
    configuration.connection_pool_maxsize = 16
    return client.ApiClient(configuration)


def open_kube(profile: Profile, overrides: Mapping[str, Any] | None = None) -> KubeClients:
    """Open a connection per context of `profile` (no request is sent yet)."""
    paths = kubeconfig_paths(profile)
    infos = describe_contexts(profile)
    timeout = float((overrides or {}).get("timeout_s", profile.kube.request_timeout_s))
    return KubeClients([KubeContext(i, _api_client(i, paths), timeout) for i in infos])
