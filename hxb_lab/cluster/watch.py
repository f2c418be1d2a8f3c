"""Watch one kind of object: a generator of change events for the views to follow.

It lists first (a relist is diffed against what was seen, so nothing is reported twice),
then watches from the list's resourceVersion with bookmarks. A 410 Gone relists; a lost
connection is retried with backoff until the server answers again (or
`reconnect_timeout` passes, then `ClusterUnavailableError`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from hxb_lab.clients.kube import GoneError, KubeContext
from hxb_lab.cluster._resources import Resource
from hxb_lab.cluster._selectors import Selector
from hxb_lab.errors import ClusterError, ClusterUnavailableError

__all__ = ["ChangeEvent", "listing", "watch_live", "watch_snapshot"]

SERVER_TIMEOUT_S = 60  # each watch request ends after this; the generator opens the next


@dataclass(frozen=True)
class ChangeEvent:
    """One change: `type` is ADDED, MODIFIED, DELETED or BOOKMARK."""

    cluster: str
    type: str
    kind: str
    namespace: str | None
    name: str | None
    resource_version: str
    object: dict[str, Any]

    def __repr__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"<ChangeEvent {self.type} {self.kind} {where} rv={self.resource_version}>"


def _event(cluster: str, kind: str, kind_of_change: str, obj: dict[str, Any]) -> ChangeEvent:
    meta = obj.get("metadata") or {}
    return ChangeEvent(
        cluster,
        kind_of_change,
        kind,
        meta.get("namespace"),
        meta.get("name"),
        str(meta.get("resourceVersion") or ""),
        obj,
    )


class _Watcher:
    def __init__(
        self,
        ctx: KubeContext,
        res: Resource,
        namespace: str | None,
        selector: Selector | None,
    ) -> None:
        self.ctx = ctx
        self.res = res
        self.path = res.path(namespace)
        self.params: list[tuple[str, str]] = []
        if selector is not None:
            self.params.append(("labelSelector", selector.text))
        self.what = ("watch", res.qualified, namespace if res.namespaced else None)
        self.known: dict[str, dict[str, Any]] = {}  # uid -> last object seen

    def relist(self, report: bool) -> tuple[str, list[ChangeEvent]]:
        """List everything; the events that turn what was known into what is."""
        current: dict[str, dict[str, Any]] = {}
        version = ""
        for page in self.ctx.list_pages(self.path, self.params, what=self.what):
            version = str((page.get("metadata") or {}).get("resourceVersion") or version)
            for item in page.get("items") or ():
                item.setdefault("apiVersion", self.res.api_version)
                item.setdefault("kind", self.res.kind)
                current[(item.get("metadata") or {}).get("uid", "")] = item
        events = []
        if report:
            for uid, obj in current.items():
                before = self.known.get(uid)
                if before is None:
                    events.append(_event(self.ctx.name, self.res.kind, "ADDED", obj))
                elif _rv(before) != _rv(obj):
                    events.append(_event(self.ctx.name, self.res.kind, "MODIFIED", obj))
            for uid, obj in self.known.items():
                if uid not in current:
                    events.append(_event(self.ctx.name, self.res.kind, "DELETED", obj))
        self.known = current
        return version, events

    def stream(self, version: str, seconds: int) -> Iterator[dict[str, Any]]:
        """The raw events of one watch request (ends when the server closes it)."""
        params = [
            *self.params,
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", version),
            ("timeoutSeconds", str(seconds)),
        ]
        resp = self.ctx.open(
            "GET", self.path, params, read_timeout=seconds + self.ctx.timeout_s, what=self.what
        )
        buffer = b""
        try:
            for chunk in resp.stream(amt=None, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield orjson.loads(line)
        finally:
            resp.release_conn()


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def listing(ctx: KubeContext, res: Resource) -> tuple[str, dict[str, dict[str, Any]]]:
    """Every object of `res` (uid -> object) and the list's resourceVersion, to watch from."""
    watcher = _Watcher(ctx, res, None, None)
    version, _ = watcher.relist(report=False)
    return version, watcher.known


def watch_live(
    ctx: KubeContext,
    res: Resource,
    namespace: str | None = None,
    selector: Selector | None = None,
    *,
    resource_version: str | None = None,
    timeout: float | None = None,
    bookmarks: bool = False,
    initial: bool = True,
    reconnect_timeout: float = 300.0,
    known: dict[str, dict[str, Any]] | None = None,
) -> Iterator[ChangeEvent]:
    """Change events of `res` until `timeout` seconds have passed (None: forever).

    `known` (uid -> object, with its resourceVersion) is what the caller already saw when
    it resumes from `resource_version`: a relist after 410 Gone reports only what differs
    from it."""
    import urllib3

    watcher = _Watcher(ctx, res, namespace, selector)
    if known is not None:
        watcher.known = dict(known)
    deadline = None if timeout is None else time.monotonic() + timeout
    if resource_version is None:
        version, events = watcher.relist(report=False)
        if initial:
            for obj in watcher.known.values():
                yield _event(ctx.name, res.kind, "ADDED", obj)
    else:
        version = resource_version
    down_since: float | None = None
    delay = 0.1
    while deadline is None or time.monotonic() < deadline:
        remaining = SERVER_TIMEOUT_S if deadline is None else deadline - time.monotonic()
        seconds = max(1, min(SERVER_TIMEOUT_S, int(remaining + 0.999)))
        try:
            for raw in watcher.stream(version, seconds):
                down_since, delay = None, 0.1
                kind_of_change = raw.get("type")
                obj = raw.get("object") or {}
                if kind_of_change == "ERROR":
                    if obj.get("code") == 410:
                        raise GoneError(str(obj.get("message")))
                    raise ClusterError(
                        f"watch of {res.qualified} on {ctx.name!r} failed: {obj.get('message')}"
                    )
                version = _rv(obj) or version
                if kind_of_change == "BOOKMARK":
                    if bookmarks:
                        yield _event(ctx.name, res.kind, "BOOKMARK", obj)
                    continue
                uid = (obj.get("metadata") or {}).get("uid", "")
                if kind_of_change == "DELETED":
                    watcher.known.pop(uid, None)
                else:
                    watcher.known[uid] = obj
                yield _event(ctx.name, res.kind, str(kind_of_change), obj)
                if deadline is not None and time.monotonic() >= deadline:
                    return
            down_since = None
        except GoneError:
            try:
                version, events = watcher.relist(report=True)
            except (ClusterUnavailableError, urllib3.exceptions.HTTPError) as exc:
                down_since, delay = _wait(ctx, exc, down_since, delay, reconnect_timeout)
                continue
            yield from events
        except (ClusterUnavailableError, urllib3.exceptions.HTTPError) as exc:
            down_since, delay = _wait(ctx, exc, down_since, delay, reconnect_timeout)


def _wait(
    ctx: KubeContext,
    exc: BaseException,
    down_since: float | None,
    delay: float,
    reconnect_timeout: float,
) -> tuple[float, float]:
    """Back off before reconnecting; give up after `reconnect_timeout` without a server."""
    now = time.monotonic()
    if down_since is None:
        down_since = now
    if now - down_since > reconnect_timeout:
        if isinstance(exc, ClusterUnavailableError):
            raise exc
        raise ctx.unavailable(exc) from None
    time.sleep(delay)
    return down_since, min(delay * 2, 2.0)


def watch_snapshot(
    cluster: str, res: Resource, items: Iterator[dict[str, Any]], initial: bool = True
) -> Iterator[ChangeEvent]:
    """A snapshot never changes: its objects as ADDED events (when `initial`), then the end."""
    if initial:
        for item in items:
            yield _event(cluster, res.kind, "ADDED", item)
