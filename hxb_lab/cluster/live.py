"""The live transport: one kubeconfig context read through the API server.

Lists are paginated (``limit``/``continue``, relisting on 410 Gone) and parsed page by
page, so memory stays bounded by one page plus the rows extracted from it. A
cluster-wide read that RBAC forbids degrades to the namespaces the user may read, and
says so in a `PartialReadWarning`. Of several contexts, one whose API server does not
answer is left out of the read with a `PartialReadWarning` naming it (`Peers`), as long
as another one may still answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from hxb_lab.clients.kube import KubeContext
from hxb_lab.cluster._resources import Resource
from hxb_lab.cluster._selectors import Selector
from hxb_lab.errors import ClusterUnavailableError, ForbiddenError
from hxb_lab.warn import warn_user

__all__ = ["LiveSource", "Peers"]

PAGE_SIZE = 500
#: Seconds a context that did not answer is left out before it is asked again, so one read
#: of several lists (nodes, then pods) waits for it once.
DOWN_FOR_S = 30.0


class Peers:
    """The contexts one profile reads together, and which of them did not answer lately."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._down: dict[str, float] = {}

    def down(self, name: str) -> bool:
        since = self._down.get(name)
        return since is not None and time.monotonic() - since < DOWN_FOR_S

    def others_may_answer(self, name: str) -> bool:
        """True when a context other than `name` has not failed lately."""
        return any(n != name and not self.down(n) for n in self.names)

    def failed(self, name: str) -> None:
        self._down[name] = time.monotonic()

    def answered(self, name: str) -> None:
        self._down.pop(name, None)


class LiveSource:
    """Reads of one context; `fallback_namespaces` are tried when a cluster-wide list is
    forbidden."""

    transport = "live"

    def __init__(
        self,
        context: KubeContext,
        fallback_namespaces: Sequence[str] = (),
        peers: Peers | None = None,
    ) -> None:
        self.context = context
        self.peers = peers
        self.name = context.name
        ordered = [*fallback_namespaces, context.info.namespace or ""]
        self.fallback_namespaces = [n for n in dict.fromkeys(ordered) if n]
        self.page_size = PAGE_SIZE

    def __repr__(self) -> str:
        return f"<LiveSource {self.name!r}>"

    def describe(self) -> dict[str, Any]:
        info = self.context.info
        return {"server": info.server, "user": info.user, "namespace": info.namespace}

    def _list(
        self, path: str, params: list[tuple[str, str]], what: tuple[str, str, str | None]
    ) -> Iterator[dict[str, Any]]:
        for page in self.context.list_pages(path, params, limit=self.page_size, what=what):
            yield from page.get("items") or ()

    def items(
        self,
        res: Resource,
        namespaces: Sequence[str] | None = None,
        selector: Selector | None = None,
        field_selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The objects of one kind, in `namespaces` (None: all) matching the selectors.

        When this context's server does not answer and a peer context may, nothing is
        read from it and a `PartialReadWarning` says so."""
        peers = self.peers
        if peers is not None and peers.down(self.name) and peers.others_may_answer(self.name):
            self._left_out(res, f"its API server {self.context.server} did not answer lately")
            return
        try:
            yield from self._items(res, namespaces, selector, field_selector)
        except ClusterUnavailableError as exc:
            if peers is None or len(peers.names) < 2:
                raise
            peers.failed(self.name)
            if not peers.others_may_answer(self.name):
                raise
            self._left_out(res, exc.message)
        else:
            if peers is not None:
                peers.answered(self.name)

    def _left_out(self, res: Resource, why: str) -> None:
        warn_user(
            f"cluster {self.name!r} is left out of the frames ({res.qualified} not read): {why}"
        )

    def _items(
        self,
        res: Resource,
        namespaces: Sequence[str] | None,
        selector: Selector | None,
        field_selector: str | None,
    ) -> Iterator[dict[str, Any]]:
        params: list[tuple[str, str]] = []
        if selector is not None:
            params.append(("labelSelector", selector.text))
        if field_selector:
            params.append(("fieldSelector", field_selector))
        if namespaces is not None and res.namespaced:
            for ns in namespaces:
                yield from self._list(res.path(ns), params, ("list", res.qualified, ns))
            return
        try:
            first = self._list(res.path(), params, ("list", res.qualified, None))
            head = next(first, None)
        except ForbiddenError as denied:
            if not res.namespaced:
                raise
            yield from self._degraded(res, params, denied)
            return
        if head is not None:
            yield head
            yield from first

    def namespace(self, name: str) -> dict[str, Any]:
        """One Namespace object (a user bound to a namespace may often get it, not list)."""
        found: dict[str, Any] = self.context.json(
            "GET", f"/api/v1/namespaces/{name}", what=("get", "namespaces", name)
        )
        return found

    def _degraded(
        self, res: Resource, params: list[tuple[str, str]], denied: ForbiddenError
    ) -> Iterator[dict[str, Any]]:
        readable: list[tuple[str, list[dict[str, Any]]]] = []
        refused: list[str] = []
        for ns in self.fallback_namespaces:
            try:
                readable.append(
                    (ns, list(self._list(res.path(ns), params, ("list", res.qualified, ns))))
                )
            except ForbiddenError:
                refused.append(ns)
        if not readable:
            raise denied
        names = ", ".join(repr(ns) for ns, _ in readable)
        skipped = "; also refused: " + ", ".join(map(repr, refused)) if refused else ""
        warn_user(
            f"user {denied.user!r} may not list {res.qualified} cluster-wide on {self.name!r}: "
            f"read namespace(s) {names} only{skipped} "
            "(pass namespace=[...] to read others)"
        )
        for _, items in readable:
            yield from items
