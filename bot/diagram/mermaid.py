"""Mermaid `flowchart TD` source for a graph (for clients that render Mermaid)."""
from __future__ import annotations

import re

from .model import Graph, NodeKind, check_graph

# (open, close) bracket pairs per kind: Mermaid node shapes.
_SHAPES: dict[NodeKind, tuple[str, str]] = {
    NodeKind.client: ("([", "])"),      # stadium
    NodeKind.service: ("[", "]"),       # rectangle
    NodeKind.gateway: ("{{", "}}"),     # hexagon
    NodeKind.cache: ("[/", "/]"),       # parallelogram
    NodeKind.database: ("[(", ")]"),    # cylinder
    NodeKind.queue: ("[[", "]]"),       # subroutine (double-sided box)
    NodeKind.storage: ("[\\", "/]"),    # trapezoid
    NodeKind.external: ("((", "))"),    # circle
    NodeKind.worker: (">", "]"),        # flag
}


def _text(s: str) -> str:
    return (s.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
             .replace(">", "#gt;").replace("|", "#124;"))


def _ids(graph: Graph) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for i, n in enumerate(graph.nodes):
        base = "n_" + (re.sub(r"[^A-Za-z0-9_]", "_", n.id) or str(i))
        mid = base
        k = 2
        while mid in used:
            mid = f"{base}_{k}"
            k += 1
        used.add(mid)
        out[n.id] = mid
    return out


def to_mermaid(graph: Graph) -> str:
    check_graph(graph)
    ids = _ids(graph)
    lines = ["flowchart TD"]
    if graph.title:
        lines.insert(0, f"%% {graph.title}")

    def node_line(n) -> str:
        o, c = _SHAPES[n.kind]
        label = n.label + (" !" if n.bottleneck else "") + (" xN" if n.scaling else "")
        return f'{ids[n.id]}{o}"{_text(label)}"{c}'

    groups: dict[str, list] = {}
    for n in graph.nodes:
        if n.group:
            groups.setdefault(n.group, []).append(n)
    for n in graph.nodes:
        if not n.group:
            lines.append("    " + node_line(n))
    for gi, (g, members) in enumerate(groups.items()):
        lines.append(f'    subgraph g{gi}["{_text(g)}"]')
        lines += ["        " + node_line(n) for n in members]
        lines.append("    end")
    for e in graph.edges:
        arrow = "-->" if e.style == "sync" else "-.->"
        lab = f"|{_text(e.label)}|" if e.label else ""
        lines.append(f"    {ids[e.source]} {arrow}{lab} {ids[e.target]}")
    bott = [ids[n.id] for n in graph.nodes if n.bottleneck]
    if bott:
        lines.append("    classDef bottleneck stroke:#d33,stroke-width:3px")
        lines.append(f"    class {','.join(bott)} bottleneck")
    return "\n".join(lines) + "\n"
