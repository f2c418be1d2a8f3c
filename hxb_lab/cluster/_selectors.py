"""Label selectors (``app=web,tier!=db,env in (a,b),!canary``): parsed, checked and matched.

Both transports check a selector here first, so a typo gets the same clear error from a
snapshot as from a live server; the snapshot and history transports also match with it
(`matching`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hxb_lab.errors import ClusterError

__all__ = ["Selector", "matching", "parse_selector"]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SET = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\(([^()]*)\)\s*$")
_EQ = re.compile(r"^\s*([^=!\s]+)\s*(==|!=|=)\s*(\S*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^=!\s()]+)\s*$")


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "in":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True)
class Selector:
    """A parsed label selector; `text` is what the API server is sent."""

    text: str
    requirements: tuple[_Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(r.matches(found) for r in self.requirements)


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _invalid(text: str, why: str) -> ClusterError:
    return ClusterError(
        f"invalid label selector {text!r}: {why}",
        hint="write it as key=value, key!=value, key in (a,b), key notin (a), key or !key, "
        "joined by commas",
    )


def _check_key(text: str, key: str) -> str:
    if not _KEY.match(key):
        raise _invalid(text, f"{key!r} is not a valid label key")
    return key


def _check_value(text: str, value: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise _invalid(text, f"{value!r} is not a valid label value")
    return value


def parse_selector(text: str | None) -> Selector | None:
    """Parse a label selector; None or "" selects everything. Raises `ClusterError` if bad."""
    if text is None or not text.strip():
        return None
    requirements: list[_Requirement] = []
    for part in _split(text):
        if not part.strip():
            raise _invalid(text, "empty requirement (a stray comma?)")
        if m := _SET.match(part):
            key, op, raw = m.groups()
            values = [v.strip() for v in raw.split(",")]
            if not any(values):
                raise _invalid(text, f"{op} needs at least one value")
            checked = frozenset(_check_value(text, v) for v in values)
            requirements.append(_Requirement(_check_key(text, key), op, checked))
        elif m := _EQ.match(part):
            key, op, value = m.groups()
            kind = "notin" if op == "!=" else "in"
            value = _check_value(text, value)
            requirements.append(_Requirement(_check_key(text, key), kind, frozenset({value})))
        elif m := _EXISTS.match(part):
            bang, key = m.groups()
            op = "!exists" if bang else "exists"
            requirements.append(_Requirement(_check_key(text, key), op, frozenset()))
        else:
            raise _invalid(text, f"cannot read {part.strip()!r}")
    return Selector(text.strip(), tuple(requirements))


def matching(
    items: Iterable[dict[str, Any]],
    namespaces: Collection[str] | None,
    selector: Selector | None,
) -> Iterator[dict[str, Any]]:
    """The objects of `items` in one of `namespaces` whose labels match `selector` (None:
    no condition), for transports that hold whole lists rather than asking a server."""
    for item in items:
        meta = item.get("metadata") or {}
        if namespaces is not None and meta.get("namespace") not in namespaces:
            continue
        if selector is not None and not selector.matches(meta.get("labels")):
            continue
        yield item
