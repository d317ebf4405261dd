"""Mermaid `flowchart TD` source for a graph (for clients that render Mermaid).

Every label and title is quoted and escaped: Mermaid entity codes (`#quot;`, `#35;`, ...)
for the characters its grammar or its directive and Markdown-string syntax would read
(`"` `#` `%` `` ` `` `|` `<` `>` `&`), so brackets, braces, `@` and parentheses in a label
(`GET /users/{id}`, `event (avro)`) stay text and no `%%{init: ...}%%` directive can be
injected.  The title goes in a comment with `%`, `{` and `}` left out.
"""
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

# '#' first: the other codes start with one.
_ENTITIES = [("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"),
             ("%", "#37;"), ("`", "#96;")]
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _text(s: str) -> str:
    """A label's text for inside double quotes."""
    s = _CONTROL.sub(" ", s)
    for ch, code in _ENTITIES:
        s = s.replace(ch, code)
    return s


def _comment(s: str) -> str:
    """Text for a `%%` comment line: nothing that could open a directive."""
    return " ".join(_CONTROL.sub(" ", s).replace("%", " ").replace("{", "(").replace("}", ")").split())


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
    if graph.title and _comment(graph.title):
        lines.insert(0, f"%% {_comment(graph.title)}")

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
        lab = f'|"{_text(e.label)}"|' if e.label.strip() else ""
        lines.append(f"    {ids[e.source]} {arrow}{lab} {ids[e.target]}")
    bott = [ids[n.id] for n in graph.nodes if n.bottleneck]
    if bott:
        lines.append("    classDef bottleneck stroke:#d33,stroke-width:3px")
        lines.append(f"    class {','.join(bott)} bottleneck")
    return "\n".join(lines) + "\n"
