"""What one change of a Kubernetes object is: the state kept, who made it, the field-level
diff, and what kind of change a person would call it (a rollout, a scale, a cordon ...).

Pure functions of objects, shared by `hxb-lab record` and the demo's seeded history, so
both write the same rows of the cluster-history table (`hxb_lab.otel_tables.CLUSTER_CHANGES`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["CHANGES", "WHATS", "Change", "change", "diff", "trim", "who", "writers"]

Obj = dict[str, Any]

#: Change types: LISTED is an object present when recording began (its state then).
CHANGES = ("LISTED", "ADDED", "MODIFIED", "DELETED")
#: What a change is, in the words of the "changes" lane, most telling first.
WHATS = (
    "rollout",
    "scale",
    "cordon",
    "uncordon",
    "taint",
    "config",
    "created",
    "deleted",
    "metadata",
    "status",
    "event",
    "listed",
)
#: Paths that change on every write and say nothing themselves.
_NOISE = frozenset(
    {
        "metadata.resourceVersion",
        "metadata.generation",
        "metadata.managedFields",
        "status.observedGeneration",
    }
)
#: Fields whose change is a new version of what runs (kind -> path prefixes).
_ROLLOUT = {
    "Deployment": ("spec.template",),
    "StatefulSet": ("spec.template",),
    "DaemonSet": ("spec.template",),
    "CronJob": ("spec.jobTemplate",),
    "InferenceService": ("spec.predictor.model", "spec.predictor.canaryTrafficPercent"),
    "Model": ("spec.storageUri", "spec.requirements"),
    "Application": ("spec.source",),
}
_REPLICAS = ("spec.replicas", "spec.predictor.minReplicas", "spec.predictor.maxReplicas")
_SUMMARY_FIELDS = 3


@dataclass(frozen=True)
class Change:
    """One row of the history table, before it is written."""

    time_ns: int
    cluster: str
    kind: str
    namespace: str
    name: str
    uid: str
    change: str
    what: str
    who: str
    summary: str
    diff: dict[str, list[Any]]
    resource_version: str
    object: Obj

    def row(self) -> tuple[Any, ...]:
        """The values in the table's column order (`Diff` and `Object` as JSON text)."""
        return (
            self.time_ns,
            self.cluster,
            self.kind,
            self.namespace,
            self.name,
            self.uid,
            self.change,
            self.what,
            self.who,
            self.summary,
            orjson.dumps(self.diff).decode(),
            self.resource_version,
            orjson.dumps(self.object).decode(),
        )


def _digest(value: Any) -> str:
    raw = value if isinstance(value, str) else orjson.dumps(value).decode()
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def trim(obj: Mapping[str, Any]) -> Obj:
    """The state kept of an object: all of it but managedFields, and for a ConfigMap its
    values as digests (a diff still shows which key changed; the values are not kept), and for
    a Secret its keys only (not even a digest of a value is kept)."""
    kept = dict(obj)
    meta = dict(kept.get("metadata") or {})
    meta.pop("managedFields", None)
    kept["metadata"] = meta
    if kept.get("kind") == "ConfigMap":
        for key in ("data", "binaryData"):
            if isinstance(kept.get(key), dict):
                kept[key] = {k: _digest(v) for k, v in kept[key].items()}
    if kept.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(kept.get(key), dict):
                kept[key] = dict.fromkeys(kept[key], "")
    return kept


def writers(obj: Mapping[str, Any]) -> frozenset[tuple[str, ...]]:
    """The object's managedFields entries as (manager, operation, subresource, time)."""
    entries = (obj.get("metadata") or {}).get("managedFields") or ()
    return frozenset(
        tuple(str(e.get(k) or "") for k in ("manager", "operation", "subresource", "time"))
        for e in entries
        if e.get("manager")
    )


def who(obj: Mapping[str, Any], before: frozenset[tuple[str, ...]] = frozenset()) -> str:
    """The field manager of the object's latest write (``kubectl``, ``kube-controller-manager``
    ...): of the managedFields entries not in `before` (the writers of the previous state,
    since entries' times are to the second), the latest; "" when the object does not say."""
    entries = writers(obj)
    fresh = (entries - before) or entries
    best = max(fresh, key=lambda e: e[3], default=None)
    return best[0] if best else ""


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, value) of every leaf; lists of named or typed items are keyed by that name."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}.{key}" if path else str(key))
        return
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        for key_field in ("name", "type", "key"):
            keys = [i.get(key_field) for i in value]
            if all(isinstance(k, str) for k in keys) and len(set(keys)) == len(keys):
                for item in value:
                    inner = {k: v for k, v in item.items() if k != key_field}
                    yield from _leaves(inner, f"{path}[{item[key_field]}]")
                return
    yield path, value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """``{path: [before, after]}`` of every leaf that differs (None where absent)."""
    old = {p: v for p, v in _leaves(dict(before or {}), "") if p not in _NOISE}
    new = {p: v for p, v in _leaves(dict(after or {}), "") if p not in _NOISE}
    return {
        path: [old.get(path), new.get(path)]
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    }


def _what(kind: str, kind_of_change: str, changed: Mapping[str, list[Any]]) -> str:
    if kind == "Event":
        return "event"
    if kind_of_change != "MODIFIED":
        return {"LISTED": "listed", "ADDED": "created", "DELETED": "deleted"}[kind_of_change]
    paths = list(changed)
    if kind == "Node":
        if "spec.unschedulable" in changed:
            return "cordon" if changed["spec.unschedulable"][1] else "uncordon"
        if any(p.startswith("spec.taints") for p in paths):
            return "taint"
    if any(p in _REPLICAS for p in paths):
        return "scale"
    if any(p.startswith(_ROLLOUT.get(kind, ("\0",))) for p in paths):
        return "rollout"
    if any(p.startswith(("spec.", "data.", "binaryData.")) for p in paths):
        return "config"
    if any(p.startswith("metadata.") for p in paths):
        return "metadata"
    return "status"


def _shown(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _summary(obj: Mapping[str, Any], what: str, changed: Mapping[str, list[Any]]) -> str:
    if what == "event":
        return f"{obj.get('type', '')} {obj.get('reason', '')}: {obj.get('message', '')}"[:200]
    if what in ("listed", "created", "deleted"):
        return what
    if what in ("cordon", "uncordon"):
        return "cordoned" if what == "cordon" else "uncordoned"
    interesting = [p for p in changed if not p.startswith("status.")] or list(changed)
    parts = [
        f"{p}: {_shown(changed[p][0])} -> {_shown(changed[p][1])}"
        for p in interesting[:_SUMMARY_FIELDS]
    ]
    more = len(interesting) - _SUMMARY_FIELDS
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def change(
    time_ns: int,
    cluster: str,
    kind: str,
    kind_of_change: str,
    obj: Mapping[str, Any],
    before: Mapping[str, Any] | None = None,
    writers_before: frozenset[tuple[str, ...]] = frozenset(),
) -> Change:
    """The history row of `obj` after a change (`before`: its kept state until then;
    `writers_before`: its managedFields entries then, see `who`)."""
    kept = trim(obj)
    meta = kept.get("metadata") or {}
    changed = diff(before, kept) if kind_of_change == "MODIFIED" else {}
    what = _what(kind, kind_of_change, changed)
    return Change(
        time_ns,
        cluster,
        kind,
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
        str(meta.get("uid") or ""),
        kind_of_change,
        what,
        "" if kind_of_change == "DELETED" else who(obj, writers_before),
        _summary(kept, what, changed),
        changed,
        str(meta.get("resourceVersion") or ""),
        kept,
    )
