"""Box-drawing text renderer: layered top-to-bottom layout, orthogonal edge routing.

Stages, each a module working on one `LayoutState`:
- `layering`: break cycles (entry points on top; the edges turned around are drawn as upward
  routes ending in an up-arrow), longest-path layers, pass-through items for edges spanning
  several layers, rows fitted into `width` (labels wrapped, then boxes moved down);
- `ordering`: order within rows (fewest crossings), x placement aligning neighbours;
- `routing`: ports on the box borders and track rows in each channel, adding no crossing the
  row order does not force; drawing the lines;
- `labels`: edge labels beside their own line, or a tag `(n)` there and the label listed;
- `legend`: the legend, groups, and the list form (packed boxes plus a connection list) used
  when no picture fits the width, or it would pass the crossing or height budget.

Symbols (the legend lists only those a diagram uses): kind markers around the label
(`@client`, `<gateway>`, `~cache~`, `(database)`, `[queue]`, `{storage}`, `/external/`,
`%worker%`, plain = service), `!` bottleneck, `xN` scaling point, `*` new/changed since
`previous`, solid lines sync, dashed lines async, `▲`/`^` for an edge that flows back up.
"""
from __future__ import annotations

from .canvas import ASCII, UNICODE, Canvas, _draw_box
from .fans import collapse_fans
from .labels import KIND_MARKERS, NoRoomForTag, _clean_graph, _wrap, dead_rows, node_text, place_edge_labels
from .layering import _merge_parallel, layer_rows
from .layout import _MAX_MARGIN, Fallback, Layout, LayoutState, RenderedDiagram, _release, _row_width
from .legend import _group_lines, legend_text, render_list
from .model import Graph, check_graph, diff_graphs
from .ordering import _channel_crossings, _position
from .routing import draw_lines, plan_channels
from .width import center

__all__ = ["KIND_MARKERS", "Fallback", "Layout", "RenderedDiagram", "node_text", "render_text",
           "render_text_layout"]

DEFAULT_MAX_CROSSINGS = 6
DEFAULT_MAX_HEIGHT = 70


def render_text(graph: Graph, *, width: int = 60, ascii_only: bool = False, previous: Graph | None = None,
                max_crossings: int = DEFAULT_MAX_CROSSINGS, max_height: int = DEFAULT_MAX_HEIGHT) -> RenderedDiagram:
    """Draw the graph as box-drawing text no wider than `width`, with its legend.

    A picture with more than `max_crossings` line crossings or `max_height` lines is drawn in the
    list form instead (boxes, then one line per connection)."""
    return render_text_layout(graph, width=width, ascii_only=ascii_only, previous=previous,
                              max_crossings=max_crossings, max_height=max_height)[0]


def _start(graph: Graph, width: int, ascii_only: bool, previous: Graph | None) -> tuple[LayoutState, list[str]]:
    check_graph(graph)
    fans = collapse_fans(_clean_graph(graph, ascii_only))
    graph = fans.graph
    changes: list[str] = []
    marked: set[str] = set()
    if previous is not None:
        previous = collapse_fans(_clean_graph(previous, ascii_only)).graph
        d = diff_graphs(previous, graph)
        changes = d.lines(previous, graph)
        marked = d.marked_nodes
    edges, origin = _merge_parallel(graph.edges)
    texts = {n.id: node_text(n, n.id in marked) for n in graph.nodes}
    st = LayoutState(graph=graph, width=width, glyphs=ASCII if ascii_only else UNICODE, marked=marked,
                     edges=edges, origin=origin, texts=texts)
    st.layout.members = fans.members
    return st, changes


def render_text_layout(graph: Graph, *, width: int = 60, ascii_only: bool = False, previous: Graph | None = None,
                       max_crossings: int = DEFAULT_MAX_CROSSINGS,
                       max_height: int = DEFAULT_MAX_HEIGHT) -> tuple[RenderedDiagram, Layout]:
    st, changes = _start(graph, max(24, int(width)), ascii_only, previous)
    if not layer_rows(st):
        return _as_list(st, changes, Fallback.too_wide)
    st.max_crossings = max_crossings
    try:
        lines = _draw(st)
    except (NoRoomForTag, _OverBudget):   # too tangled, or a tag found no room: the list form
        _release(st.rows)
        return _as_list(st, changes, Fallback.too_tangled)
    _release(st.rows)
    layout = st.layout
    layout.height = len(lines)
    if layout.crossings > max_crossings:
        return _as_list(st, changes, Fallback.too_tangled)
    if layout.height > max_height:
        return _as_list(st, changes, Fallback.too_tall)
    back = any(st.rev)
    legend = legend_text(st, back=back, list_mode=False)
    return RenderedDiagram("\n".join(lines), legend, changes), layout


class _OverBudget(Exception):
    """The row order alone forces more crossings than the budget allows."""


def _as_list(st: LayoutState, changes: list[str], why: Fallback) -> tuple[RenderedDiagram, Layout]:
    crossings, order = st.layout.crossings, st.layout.order_crossings
    layout = Layout(fallback=why, crossings=crossings, order_crossings=order, members=st.layout.members)
    out, layout = render_list(st, changes, layout)
    layout.height = len(out.text.split("\n"))
    return out, layout


def _draw(st: LayoutState) -> list[str]:
    """The picture's lines (title, boxes and lines, edge-label list, groups); fills st.layout."""
    rows, width = st.rows, st.width
    st.canvas = max(_row_width(r) for r in rows)
    _position(rows, st.canvas)
    # spare width: a left margin, so labels fit beside lines on both sides
    off = max(0, min((width - st.canvas) // 2, _MAX_MARGIN))
    for row in rows:
        for it in row:
            it.x += off
    st.canvas += off
    plan_channels(st)
    return _route(st)


def _route(st: LayoutState) -> list[str]:
    rows, layout, g, width = st.rows, st.layout, st.glyphs, st.width
    layout.order_crossings = sum(_channel_crossings([(lk.up, lk.low) for lk in links]) for links in st.links_by_row)
    if layout.order_crossings > st.max_crossings:
        raise _OverBudget       # the picture would draw at least these: no need to draw it
    # every row of the picture, each as wide as anything drawn in it gets
    cv = Canvas(st.height, max(st.canvas, width))
    for row in rows:
        for it in row:
            if it.is_box:
                _draw_box(cv, it, g)
                layout.boxes[it.node] = (it.x, it.y, it.w, it.h)
    draw_lines(st, cv)
    cv.resolve(g)
    layout.crossings = cv.crossings()
    listed = place_edge_labels(st, cv)
    merged_tags = dict(layout.tags)
    origin, edges = st.origin, st.graph.edges
    layout.listed_labels = sorted(i for k in listed for i in origin[k] if edges[i].label)
    layout.inline_labels = sorted(i for k in layout.inline_labels for i in origin[k] if edges[i].label)
    layout.tags = {i: tag for k, tag in layout.tags.items() for i in origin[k] if edges[i].label}
    _drop_plain_track_rows(st, cv)

    title = _wrap(st.graph.title, width) if st.graph.title else []
    lines = [center(s, min(width, st.canvas)).rstrip() for s in title]
    if lines:
        lines.append("")
    top = len(lines)
    layout.boxes = {k: (x, y + top, w, h) for k, (x, y, w, h) in layout.boxes.items()}
    lines += cv.text()
    if listed:
        lines += ["", "Edge labels:"]
        for k in listed:
            e = st.edges[k]
            tag = merged_tags.get(k, "")
            text = f"{tag} {st.nodes[e.source].label} {g.arrow} {st.nodes[e.target].label}: {e.label}"
            lines += _wrap(text.strip(), width, "    ")
    lines += _group_lines(st.graph, width)
    return lines


def _drop_plain_track_rows(st: LayoutState, cv: Canvas) -> None:
    """Drop track rows that ended up holding only straight vertical runs (no turn, no label)."""
    dead = dead_rows(st, cv)
    if dead:
        cv.rows = [r for y, r in enumerate(cv.rows) if y not in dead]
        st.layout.boxes = {k: (x, y - sum(1 for d in dead if d < y), w, h)
                           for k, (x, y, w, h) in st.layout.boxes.items()}
