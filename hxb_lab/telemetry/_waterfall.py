"""One trace's spans as a waterfall: tree order, depth, offsets, self time, critical path.

Pure functions over the rows of one trace (a few hundred spans at most), so plain Python.
Spans whose parent is missing (a partial trace) are shown as roots.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass
class _Span:
    span_id: str
    parent: str
    start: int
    end: int


def _tree(spans: list[_Span]) -> tuple[list[_Span], dict[str, list[_Span]]]:
    ids = {s.span_id for s in spans}
    children: dict[str, list[_Span]] = defaultdict(list)
    roots: list[_Span] = []
    for span in spans:
        if span.parent and span.parent in ids and span.parent != span.span_id:
            children[span.parent].append(span)
        else:
            roots.append(span)
    for kids in children.values():
        kids.sort(key=lambda s: (s.start, s.span_id))
    roots.sort(key=lambda s: (s.start, s.span_id))
    return roots, children


def layout(
    span_ids: list[str], parents: list[str], starts: list[int], durations: list[int]
) -> dict[str, Any]:
    """Waterfall order (depth-first, children by start), depth and self time of each span.

    Returns ``order`` (row indices), ``depth`` and ``self_ns`` (lists by row index).
    """
    spans = [
        _Span(i, p, s, s + d)
        for i, p, s, d in zip(span_ids, parents, starts, durations, strict=True)
    ]
    index = {s.span_id: n for n, s in enumerate(spans)}
    roots, children = _tree(spans)
    order: list[int] = []
    depth = [0] * len(spans)
    stack = [(r, 0) for r in reversed(roots)]
    seen: set[str] = set()
    while stack:
        span, level = stack.pop()
        if span.span_id in seen:  # duplicated span ids: show each row once
            continue
        seen.add(span.span_id)
        order.append(index[span.span_id])
        depth[index[span.span_id]] = level
        stack.extend((c, level + 1) for c in reversed(children.get(span.span_id, [])))
    placed = set(order)
    order += [n for n in range(len(spans)) if n not in placed]
    self_ns = [_self_time(s, children.get(s.span_id, [])) for s in spans]
    return {"order": order, "depth": depth, "self_ns": self_ns}


def _self_time(span: _Span, kids: list[_Span]) -> int:
    """The span's duration minus the union of its children's intervals inside it."""
    covered, cursor = 0, span.start
    for kid in sorted(kids, key=lambda k: k.start):
        begin, end = max(kid.start, cursor), min(kid.end, span.end)
        if end > begin:
            covered += end - begin
            cursor = end
    return max(span.end - span.start - covered, 0)


def critical_path(
    span_ids: list[str], parents: list[str], starts: list[int], durations: list[int]
) -> dict[str, int]:
    """Nanoseconds each span contributes to the trace's critical path (spans off it absent).

    Walks back from the end of the longest root: at each point the child that finished
    last before it is on the path, the parent's own time between children is too (the
    algorithm of Jaeger's critical path view). Children that outlive their parent
    (asynchronous consumers) count only up to the parent's end.
    """
    spans = [
        _Span(i, p, s, s + d)
        for i, p, s, d in zip(span_ids, parents, starts, durations, strict=True)
    ]
    if not spans:
        return {}
    roots, children = _tree(spans)
    root = max(roots, key=lambda s: (s.end - s.start, -s.start))
    path: dict[str, int] = defaultdict(int)
    stack: list[tuple[_Span, int]] = [(root, root.end)]
    while stack:
        span, bound = stack.pop()
        cursor = min(span.end, bound)
        kids = children.get(span.span_id, [])
        while True:
            candidates = [k for k in kids if k.start < cursor]
            if not candidates:
                break
            child = max(candidates, key=lambda k: (min(k.end, cursor), k.start))
            child_end = min(child.end, cursor)
            path[span.span_id] += cursor - child_end
            stack.append((child, child_end))
            cursor = max(child.start, span.start)
            kids = [k for k in kids if k is not child]
        path[span.span_id] += max(cursor - span.start, 0)
    return {k: v for k, v in path.items() if v > 0}
