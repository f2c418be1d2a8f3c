"""`hxb-lab record`: follow the profile's clusters and write every change to the history.

One watch per cluster and kind (`RECORDED`: the kinds HXB Lab reads; never Secrets), each
in a thread, feeding one writer that appends a batch every `flush_s` seconds. The first
time a kind is recorded its objects are LISTED; after that, a recorder resumes from the
newest resourceVersion in the table with the last recorded state of every object, so
what happened while it was stopped comes as the watch's events, or, when that version is
gone (410), as the difference a relist shows. A change already recorded (same or older
resourceVersion, a deletion of an object not known) is not written again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hxb_lab.cluster._changes import Change, change, trim, writers
from hxb_lab.cluster._resources import KINDS, Resource
from hxb_lab.cluster.watch import listing, watch_live
from hxb_lab.errors import ForbiddenError, NotFoundError

if TYPE_CHECKING:
    from hxb_lab.clients.kube import KubeContext
    from hxb_lab.cluster._store import ChangeStore

__all__ = ["RECORDED", "Recorder", "Recording"]

#: What is recorded: every kind HXB Lab reads, but Secrets (not even their keys).
RECORDED: tuple[Resource, ...] = tuple(r for r in KINDS if r.kind != "Secret")
_FOREVER_NS = 2**62
_WATCH_S = 2.0


@dataclass
class Recording:
    """What one run of the recorder did."""

    written: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # "cluster/kind" -> why

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()) if n)
        skipped = f"; not recorded: {', '.join(sorted(self.skipped))}" if self.skipped else ""
        return f"{self.written} changes written ({kinds or 'none'}){skipped}"


class _Clock:
    """Nanoseconds of the wall clock, strictly increasing across threads (a row's time
    orders an object's changes)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


def _uid(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _newer(version: str, than: str) -> bool:
    if version.isdigit() and than.isdigit():
        return int(version) > int(than)
    return version != than


class Recorder:
    """Follows the watches of `contexts` and writes their changes to `store`."""

    def __init__(
        self,
        contexts: Sequence[KubeContext],
        store: ChangeStore,
        kinds: Sequence[Resource] = RECORDED,
        *,
        flush_s: float = 1.0,
        batch: int = 20_000,
        reconnect_timeout: float = 300.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.contexts = list(contexts)
        self.store = store
        self.kinds = list(kinds)
        self.flush_s = flush_s
        self.batch = batch
        self.reconnect_timeout = reconnect_timeout
        self.progress = progress or (lambda _msg: None)
        self._clock = _Clock()
        #: Set once every watch has listed (or resumed) and follows its kind.
        self.watching = threading.Event()
        self._started = 0
        self._started_lock = threading.Lock()

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.contexts)
        return f"<Recorder of {names} into {self.store!r}>"

    def run(self, duration: float | None = None, stop: threading.Event | None = None) -> Recording:
        """Record until `duration` seconds pass or `stop` is set (None, None: forever).

        A change in flight when it stops is not lost: the next run resumes from what the
        table holds."""
        self.store.prepare()
        done = Recording()
        stop = stop or threading.Event()
        self.watching.clear()
        self._started = 0
        deadline = None if duration is None else time.monotonic() + duration
        inbox: queue.Queue[Change | BaseException | None] = queue.Queue()
        threads = [
            threading.Thread(
                target=self._follow,
                args=(ctx, res, deadline, stop, done, inbox),
                name=f"record {ctx.name}/{res.qualified}",
                daemon=True,
            )
            for ctx in self.contexts
            for res in self.kinds
        ]
        for thread in threads:
            thread.start()
        pending: list[Change] = []
        flushed = time.monotonic()
        running = len(threads)
        failure: BaseException | None = None
        try:
            while running and not stop.is_set():
                try:
                    item = inbox.get(timeout=0.1)
                except queue.Empty:
                    pass
                else:
                    if item is None:
                        running -= 1
                    elif isinstance(item, BaseException):
                        failure, running = item, running - 1
                        stop.set()
                    else:
                        pending.append(item)
                if pending and (
                    len(pending) >= self.batch or time.monotonic() - flushed >= self.flush_s
                ):
                    self._write(pending, done)
                    pending, flushed = [], time.monotonic()
        finally:
            stop.set()
            joined_by = time.monotonic() + _WATCH_S + 10.0  # a stop is noticed within a watch
            for thread in threads:
                thread.join(max(0.0, joined_by - time.monotonic()))
            while True:  # what the watches handed over before they stopped
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Change):
                    pending.append(item)
            self._write(pending, done)
        if failure is not None:
            raise failure
        return done

    def _write(self, changes: list[Change], done: Recording) -> None:
        if not changes:
            return
        done.written += self.store.write(changes)
        for c in changes:
            done.by_kind[c.kind] = done.by_kind.get(c.kind, 0) + 1

    # ------------------------------------------------------------------ one watch
    def _follow(
        self,
        ctx: KubeContext,
        res: Resource,
        deadline: float | None,
        stop: threading.Event,
        done: Recording,
        inbox: queue.Queue[Change | BaseException | None],
    ) -> None:
        try:
            self._record(ctx, res, deadline, stop, inbox.put)
        except (NotFoundError, ForbiddenError) as exc:  # a CRD not installed; no RBAC
            self._following()
            done.skipped[f"{ctx.name}/{res.qualified}"] = exc.message
            self.progress(f"not recording {res.qualified} on {ctx.name!r}: {exc.message}")
        except BaseException as exc:
            inbox.put(exc)
            return
        inbox.put(None)

    def _record(
        self,
        ctx: KubeContext,
        res: Resource,
        deadline: float | None,
        stop: threading.Event,
        emit: Callable[[Change], None],
    ) -> None:
        resume = self.store.resume_point(ctx.name, res.kind)
        state: dict[str, dict[str, Any]]
        seen: dict[str, frozenset[tuple[str, ...]]] = {}  # uid -> its writers last seen
        if resume is None:
            version, objects = listing(ctx, res)
            state = {}
            for uid, obj in objects.items():
                emit(change(self._clock(), ctx.name, res.kind, "LISTED", obj))
                state[uid] = trim(obj)
                seen[uid] = writers(obj)
        else:
            version = resume
            found = self.store.state(ctx.name, res.kind, _FOREVER_NS)
            state = {_uid(obj): obj for obj in found}
        self._following()
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            # Short watches, so a stop is noticed within `_WATCH_S`.
            events = watch_live(
                ctx,
                res,
                resource_version=version,
                timeout=_WATCH_S if left is None else min(left, _WATCH_S),
                initial=False,
                reconnect_timeout=self.reconnect_timeout,
                known=state,
            )
            for event in events:
                version = event.resource_version or version
                self._apply(ctx.name, res.kind, event.type, event.object, state, seen, emit)
                if stop.is_set():
                    return

    def _following(self) -> None:
        with self._started_lock:
            self._started += 1
            if self._started == len(self.contexts) * len(self.kinds):
                self.watching.set()

    def _apply(
        self,
        cluster: str,
        kind: str,
        kind_of_change: str,
        obj: dict[str, Any],
        state: dict[str, dict[str, Any]],
        seen: dict[str, frozenset[tuple[str, ...]]],
        emit: Callable[[Change], None],
    ) -> None:
        uid = _uid(obj)
        before = state.get(uid)
        if kind_of_change == "DELETED":
            if before is None:
                return  # recorded already (or never present while recording)
            del state[uid]
            seen.pop(uid, None)
            emit(change(self._clock(), cluster, kind, "DELETED", obj))
            return
        if before is not None and not _newer(_version(obj), _version(before)):
            return  # this version is recorded already
        told = "ADDED" if before is None else "MODIFIED"
        recorded = change(
            self._clock(), cluster, kind, told, obj, before, seen.get(uid, frozenset())
        )
        state[uid] = recorded.object
        seen[uid] = writers(obj)
        emit(recorded)
