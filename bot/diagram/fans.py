"""Fan-in and fan-out of many similar nodes collapsed into one labelled box (`Shard 1..15`).

Nodes are similar when they have the same kind, the same label apart from a trailing
number (or the very same label), and the very same connections (same neighbours, ways,
styles and labels).  Drawing one box for them loses nothing the picture could show, and a
fan of fifteen no longer stacks into rows of boxes fifty lines tall.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Edge, Graph, Node

FAN_MIN = 4        # this many similar nodes or more become one box
_NUMBERED = re.compile(r"^(.*?\D)\s*#?(\d+)$")


@dataclass
class Collapsed:
    graph: Graph
    members: dict[str, list[str]] = field(default_factory=dict)   # box node id -> the node ids it stands for


def _stem(label: str) -> tuple[str, int | None]:
    m = _NUMBERED.match(label)
    return (m.group(1).rstrip(" -_#"), int(m.group(2))) if m else (label, None)


def _box_label(labels: list[str], limit: int) -> str:
    stems = [_stem(lab) for lab in labels]
    nums = sorted(n for _, n in stems if n is not None)
    stem = stems[0][0]
    if len(nums) == len(labels):
        text = f"{stem} {nums[0]}..{nums[-1]}" if nums[-1] - nums[0] + 1 == len(nums) else f"{stem} x{len(labels)}"
    else:
        text = f"{labels[0]} x{len(labels)}"
    return text if len(text) <= limit else text[:limit]


def collapse_fans(graph: Graph, limit: int = 40) -> Collapsed:
    """The graph with every group of FAN_MIN or more similar nodes drawn as one node."""
    links: dict[str, set[tuple]] = {n.id: set() for n in graph.nodes}
    for e in graph.edges:
        links[e.source].add(("out", e.target, e.style, e.label))
        links[e.target].add(("in", e.source, e.style, e.label))
    groups: dict[tuple, list[Node]] = {}
    for n in graph.nodes:
        if not links[n.id]:
            continue
        key = (n.kind, _stem(n.label)[0].lower(), n.group, n.bottleneck, n.scaling, frozenset(links[n.id]))
        groups.setdefault(key, []).append(n)
    fans = [ns for ns in groups.values() if len(ns) >= FAN_MIN]
    if not fans:
        return Collapsed(graph)
    into: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    relabel: dict[str, str] = {}
    for ns in fans:
        head = ns[0].id
        members[head] = [n.id for n in ns]
        relabel[head] = _box_label([n.label for n in ns], limit)
        for n in ns[1:]:
            into[n.id] = head
    nodes = [n.model_copy(update={"label": relabel[n.id]}) if n.id in relabel else n
             for n in graph.nodes if n.id not in into]
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for e in graph.edges:
        src, dst = into.get(e.source, e.source), into.get(e.target, e.target)
        if (src, dst, e.style) in seen:
            continue
        seen.add((src, dst, e.style))
        edges.append(e if (src, dst) == (e.source, e.target) else e.model_copy(update={"source": src, "target": dst}))
    return Collapsed(graph.model_copy(update={"nodes": nodes, "edges": edges}), members)
