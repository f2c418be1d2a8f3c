"""The live transport: one kubeconfig context read through the API server.

Lists are paginated (``limit``/``continue``, relisting on 410 Gone) and parsed page by
page, so memory stays bounded by one page plus the rows extracted from it. A
cluster-wide read that RBAC forbids degrades to the namespaces the user may read, and
says so in a `PartialReadWarning`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hxb_lab.clients.kube import KubeContext
from hxb_lab.cluster._resources import Resource
from hxb_lab.cluster._selectors import Selector
from hxb_lab.errors import ForbiddenError
from hxb_lab.warn import warn_user

__all__ = ["LiveSource"]

PAGE_SIZE = 500


class LiveSource:
    """Reads of one context; `fallback_namespaces` are tried when a cluster-wide list is
    forbidden."""

    transport = "live"

    def __init__(self, context: KubeContext, fallback_namespaces: Sequence[str] = ()) -> None:
        self.context = context
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
        """The objects of one kind, in `namespaces` (None: all) matching the selectors."""
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
