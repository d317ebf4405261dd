"""What goes under the picture: legend, groups, and the list form when no picture fits."""
from __future__ import annotations

from .canvas import Canvas, _draw_box
from .labels import BOTTLENECK_MARK, CHANGED_MARK, KIND_MARKERS, SCALING_MARK, _wrap
from .layering import _size_box
from .layout import _CONTENT_MAX, _GAP_BOX, Item, Layout, LayoutState, RenderedDiagram
from .model import KIND_HELP, Graph, NodeKind


def _group_lines(graph: Graph, width: int) -> list[str]:
    groups: dict[str, list[str]] = {}
    for n in graph.nodes:
        if n.group:
            groups.setdefault(n.group, []).append(n.label)
    if not groups:
        return []
    out = ["", "Groups:"]
    for gname, labels in groups.items():
        out += _wrap(f"{gname}: {', '.join(labels)}", width, "    ")
    return out


def legend_text(st: LayoutState, *, back: bool, list_mode: bool) -> str:
    """The legend: exactly the symbols the picture (or list) uses."""
    graph, g, marked, width = st.graph, st.glyphs, st.marked, st.width
    rows: list[tuple[str, str]] = []
    kinds = {n.kind for n in graph.nodes if type(n.kind) is NodeKind}
    for k in NodeKind:
        if k in kinds:
            o, c = KIND_MARKERS[k]
            desc = KIND_HELP[k] + (" (plain box)" if k is NodeKind.service else "")
            rows.append((f"{o}name{c}", desc))
    if any(n.bottleneck for n in graph.nodes):
        rows.append((BOTTLENECK_MARK, "bottleneck"))
    if any(n.scaling for n in graph.nodes):
        rows.append((SCALING_MARK, "scaling point (scale out here)"))
    if marked:
        rows.append((CHANGED_MARK, "new or changed since the last diagram"))
    styles = {e.style for e in graph.edges}
    if list_mode:
        if "sync" in styles:
            rows.append((g.arrow, "sync call"))
        if "async" in styles:
            rows.append(("~>", "async message / event"))
    else:
        if "sync" in styles:
            rows.append((g.h * 3, "sync call (request/response)"))
        if "async" in styles:
            rows.append((g.ah * 3, "async message / event"))
        if back:
            rows.append((g.up, "arrow up: flow back to a box above"))
    sw = max(len(s) for s, _ in rows)
    out = ["Legend:"]
    for sym, desc in rows:
        out += _wrap(f"{sym.ljust(sw)}  {desc}", width, " " * (sw + 2))
    return "\n".join(out)


def render_list(st: LayoutState, changes: list[str], layout: Layout) -> tuple[RenderedDiagram, Layout]:
    """The list form (no picture fits, or it would pass a budget): packed boxes, connections listed."""
    graph, g, width, texts = st.graph, st.glyphs, st.width, st.texts
    layout.list_mode = True
    cv = Canvas()
    x = y = row_h = 0
    for n in graph.nodes:     # boxes packed left to right, wrapping at the width
        it = Item(("n", n.id), node=n.id)
        it.text = texts[n.id]
        _size_box(it, min(_CONTENT_MAX, width - 4))
        if x and x + it.w > width:
            x, y, row_h = 0, y + row_h + 1, 0
        it.x, it.y = x, y
        _draw_box(cv, it, g)
        layout.boxes[n.id] = (it.x, it.y, it.w, it.h)
        x += it.w + _GAP_BOX
        row_h = max(row_h, it.h)
    nodes = {n.id: n for n in graph.nodes}
    lines = []
    if graph.title:
        lines += _wrap(graph.title, width) + [""]
    top = len(lines)
    layout.boxes = {k: (x, y + top, w, h) for k, (x, y, w, h) in layout.boxes.items()}
    lines += cv.text()
    if graph.edges:
        lines += ["", "Connections:"]
        for k, e in enumerate(graph.edges):
            arrow = g.arrow if e.style == "sync" else "~>"
            s = f"{nodes[e.source].label} {arrow} {nodes[e.target].label}"
            if e.label:
                s += f": {e.label}"
                layout.listed_labels.append(k)
            lines += _wrap(s, width, "    ")
    lines += _group_lines(graph, width)
    legend = legend_text(st, back=False, list_mode=True)
    return RenderedDiagram("\n".join(lines), legend, changes), layout
