"""Where the service map puts its services, their names and their arrows, in pixels.

Layers come from networkx: a call graph may have cycles (a service that calls back), which
have no topological order, so each cycle is folded into one node first (networkx's
condensation) and a service's layer is the longest call chain from a service nobody calls.
What networkx has no layout for, kept here: the order of the services in a layer (a
barycentre sweep, so calls cross less) and the routes of the arrows. Names sit above their
service; an arrow leaves its caller and enters its callee level with them and turns only in
the gap between two layers, wider than any name, and a call that skips a layer passes it in
a row of its own. So no arrow crosses a name, and no name meets another or a service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["MapLayout", "label_width", "lay_out", "layers"]

#: Pixels between two rows of a layer, and the radius of a service's dot.
ROW_PX = 64
NODE_R = 13
#: A name: 12 px text above its dot, this far above the dot's top, this high (with its pad).
FONT_PX = 12
LABEL_GAP = 3
LABEL_H = 20
#: Room beside a name, and the least gap between two layers where the arrows turn.
SIDE_PAD = 10
MIN_GAP = 110
#: The drawing is stretched to at least this width when it has several layers.
TARGET_PX = 600

Point = tuple[float, float]
#: A box in pixels: left, bottom, right, top (y grows upwards, as on the chart).
Box = tuple[float, float, float, float]


def label_width(text: str) -> float:
    """A generous width in pixels of `text` in the map's 12 px sans-serif font."""
    width = 0.0
    for ch in text:
        if ch in "ijlI.,:;'|!`":
            width += 0.36
        elif ch in "mwMW@%":
            width += 1.0
        elif ch.isupper() or ch in "&#_":
            width += 0.8
        else:
            width += 0.66
    return width * FONT_PX + 4.0  # the annotation's pad on both sides


@dataclass
class MapLayout:
    """Pixel positions: each service's dot, each call's route (a polyline from the
    caller's dot to the callee's), each name's box, and the ranges that hold them all."""

    nodes: dict[str, Point] = field(default_factory=dict)
    routes: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    labels: dict[str, Box] = field(default_factory=dict)
    x_range: tuple[int, int] = (0, 0)
    y_range: tuple[int, int] = (0, 0)


def layers(edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each service's layer: callers before callees; the services of a cycle share one."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(sorted({n for e in edges for n in e}))
    graph.add_edges_from((p, c) for p, c in edges if p != c)
    folded = nx.condensation(graph)
    depth: dict[int, int] = {}
    for part in nx.topological_sort(folded):
        depth[part] = max((depth[p] + 1 for p in folded.predecessors(part)), default=0)
    member_of = folded.graph["mapping"]
    return {node: depth[member_of[node]] for node in graph.nodes}


def _rows(
    layer_of: dict[str, int], edges: list[tuple[str, str]]
) -> tuple[list[list[str]], dict[tuple[str, str], list[str]]]:
    """The items of each layer top to bottom (services, and a pass-through item per call
    that skips the layer), and each call's chain of pass-through items."""
    depth = max(layer_of.values(), default=0)
    items: list[list[str]] = [[] for _ in range(depth + 1)]
    callers: dict[str, list[str]] = {}
    chains: dict[tuple[str, str], list[str]] = {}
    for node in sorted(layer_of):
        items[layer_of[node]].append(node)
        callers[node] = []
    for parent, child in dict.fromkeys(edges):  # a call listed twice passes once
        lp, lc = layer_of[parent], layer_of[child]
        if lc <= lp:
            continue
        chain, before = [], parent
        for layer in range(lp + 1, lc):
            via = f"\0{parent}\0{child}\0{layer}"
            items[layer].append(via)
            callers[via] = [before]
            chain.append(via)
            before = via
        callers[child].append(before)
        chains[(parent, child)] = chain
    # One sweep from the first layer down: each item at the mean row of its callers.
    row: dict[str, float] = {n: float(i) for i, n in enumerate(items[0])}
    for layer in range(1, depth + 1):

        def place(item: str) -> tuple[float, str]:
            above = [row[c] for c in callers[item]]
            return (sum(above) / len(above) if above else float("inf"), item.strip("\0"))

        items[layer].sort(key=place)
        row.update({n: float(i) for i, n in enumerate(items[layer])})
    return items, chains


def lay_out(edges: list[tuple[str, str]], names: dict[str, str]) -> MapLayout:
    """The map of `edges` (caller, callee), each service's name as shown in `names`."""
    layer_of = layers(edges)
    items, chains = _rows(layer_of, edges)
    # Half the room of a layer: its widest name (or dot) and a pad.
    half = [
        max([NODE_R] + [label_width(names[n]) / 2 for n in column if n in names]) + SIDE_PAD
        for column in items
    ]
    gaps = len(items) - 1
    gap = float(MIN_GAP)
    if gaps:
        gap = max(MIN_GAP, (TARGET_PX - half[0] - half[-1] - 2 * sum(half[1:-1])) / gaps)
    xs = [0.0]
    for layer in range(1, len(items)):
        xs.append(xs[-1] + half[layer - 1] + gap + half[layer])
    at: dict[str, Point] = {}
    for layer, column in enumerate(items):
        middle = (len(column) - 1) / 2
        for i, item in enumerate(column):
            at[item] = (xs[layer], -(i - middle) * ROW_PX)

    found = MapLayout(nodes={n: at[n] for n in layer_of})
    loops = 0
    for parent, child in edges:
        if parent == child or (parent, child) in found.routes:
            continue
        (x0, y0), (x1, y1) = at[parent], at[child]
        lp, lc = layer_of[parent], layer_of[child]
        if lc > lp:
            route = [(x0, y0), (x0 + half[lp], y0)]
            for via, layer in zip(chains[(parent, child)], range(lp + 1, lc), strict=True):
                vx, vy = at[via]
                route += [(vx - half[layer], vy), (vx + half[layer], vy)]
            route += [(x1 - half[lc], y1), (x1, y1)]
        else:  # two services of one cycle: out to the right, along the gap, back in
            loops += 1
            turn = x0 + half[lp] + 8 + 6 * (loops % 8)
            route = [(x0, y0), (turn, y0), (turn, y1), (x1, y1)]
        found.routes[(parent, child)] = route
    for node, (x, y) in found.nodes.items():
        w = label_width(names[node])
        bottom = y + NODE_R + LABEL_GAP
        found.labels[node] = (x - w / 2, bottom, x + w / 2, bottom + LABEL_H)
    points = [p for r in found.routes.values() for p in r] + list(found.nodes.values())
    boxes = list(found.labels.values())
    # Whole pixels, so a figure as wide as the range draws one pixel per unit.
    found.x_range = (
        math.floor(min([p[0] - NODE_R for p in points] + [b[0] for b in boxes]) - SIDE_PAD),
        math.ceil(max([p[0] + NODE_R for p in points] + [b[2] for b in boxes]) + SIDE_PAD),
    )
    found.y_range = (
        math.floor(min(p[1] for p in points) - NODE_R - SIDE_PAD),
        math.ceil(max([p[1] + NODE_R for p in points] + [b[3] for b in boxes]) + 4),
    )
    return found
