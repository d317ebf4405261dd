"""Box-drawing text renderer: layered top-to-bottom layout, orthogonal edge routing.

Pipeline: break cycles (DFS back edges are reversed for layering and drawn as
upward routes ending in an up-arrow) -> longest-path layering -> dummy nodes
for edges spanning several layers -> barycenter ordering -> fit every row in
`width` (wrap labels, then push nodes down into new rows) -> x placement that
aligns neighbours -> per-channel routing: every edge gets its own port on the
box border and, when it must move sideways, its own horizontal track row.

Rows that do not fit `width` first wrap box labels at word boundaries, then move
boxes down into extra rows (words are split only in a row left with one box); a graph that still cannot be drawn within
the width (only very dense ones) falls back to packed boxes plus a connection
list.  Edge labels go beside their own line; where there is no room, a short tag
`(n)` goes there and the label is listed under the diagram.

Symbols (the legend lists only those a diagram uses): kind markers around the
label (`@client`, `<gateway>`, `~cache~`, `(database)`, `[queue]`, `{storage}`,
`/external/`, `%worker%`, plain = service), `!` bottleneck, `xN` scaling point,
`*` new/changed since `previous`, solid lines sync, dashed lines async, `▲`/`^`
for an edge that flows back up.

Routing invariant that keeps the picture unambiguous: in each channel, ports
that turn sideways leave boxes on even columns and enter boxes on odd columns,
straight drops own their column in both rows, and every sideways edge has its
own track row.  So two edges never share a cell except at a perpendicular
crossing (drawn `┼`, or the vertical glyph when a dashed line is involved).
"""
from __future__ import annotations

import bisect
import functools
import textwrap
import unicodedata
from dataclasses import dataclass, field

from .model import KIND_HELP, Graph, NodeKind, check_graph, diff_graphs

# Kind markers wrapped around the label inside the box (same in unicode and ascii).
KIND_MARKERS: dict[NodeKind, tuple[str, str]] = {
    NodeKind.client: ("@", ""),
    NodeKind.service: ("", ""),
    NodeKind.gateway: ("<", ">"),
    NodeKind.cache: ("~", "~"),
    NodeKind.database: ("(", ")"),
    NodeKind.queue: ("[", "]"),
    NodeKind.storage: ("{", "}"),
    NodeKind.external: ("/", "/"),
    NodeKind.worker: ("%", "%"),
}
BOTTLENECK_MARK = "!"
SCALING_MARK = "xN"
CHANGED_MARK = "*"

_CONTENT_MAX = 22
_MAX_MARGIN = 12
_CONTENT_MIN = 6
_GAP_BOX = 2
_GAP_DUMMY = 1      # between a box and a pass-through line
_DUMMY_COST = 2     # pass-through lines sit side by side, two columns each


@dataclass
class RenderedDiagram:
    text: str
    legend: str
    changes: list[str] = field(default_factory=list)


@dataclass
class Layout:
    """What the renderer drew, for tests and callers: box rectangles per node id."""
    boxes: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # id -> (x, y, w, h)
    list_mode: bool = False          # True when edges could not be drawn and are listed instead
    inline_labels: list[int] = field(default_factory=list)   # edge indices labelled in the picture
    listed_labels: list[int] = field(default_factory=list)   # edge indices labelled in the list


@dataclass(frozen=True)
class _Glyphs:
    h: str
    v: str
    ah: str     # async horizontal
    av: str     # async vertical
    tl: str
    tr: str
    bl: str
    br: str
    cross: str
    down: str
    up: str
    port_down: str   # bottom border where an edge leaves downward
    port_up: str     # top border where an edge leaves upward
    arrow: str       # used in text lists


UNICODE = _Glyphs("─", "│", "┄", "┆", "┌", "┐", "└", "┘", "┼", "▼", "▲", "┬", "┴", "→")
ASCII = _Glyphs("-", "|", ".", ":", "+", "+", "+", "+", "+", "v", "^", "-", "-", "->")

N, S, E, W = 1, 2, 4, 8
_CELL_KEY = 1 << 20     # canvas cell (y, x) is keyed y * _CELL_KEY + x (pictures are far narrower)
# A canvas cell nothing was drawn in (shown as a space).  A string, not None, so a row becomes
# text with C-level join/replace; NUL never gets drawn (_clean drops control characters).
_EMPTY = "\0"


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return list(_wrap_cached(text, width, indent))


@functools.lru_cache(maxsize=1024)
def _wrap_cached(text: str, width: int, indent: str) -> tuple[str, ...]:
    """textwrap is slow next to the rest of a render, and legends repeat the same lines."""
    return tuple(textwrap.wrap(text, width=max(1, width), break_long_words=True, subsequent_indent=indent,
                               break_on_hyphens=False) or [""])


def _clean(s: str, ascii_only: bool) -> str:
    """One cell per character: drop control, zero-width and combining marks, replace wide glyphs;
    in ASCII mode transliterate (café -> cafe) and replace what is left with '?'."""
    if s.isascii() and s.isprintable():
        return " ".join(s.split())
    s = unicodedata.normalize("NFKC", s)
    out = []
    for ch in s:
        if ch.isspace():
            out.append(" ")
            continue
        if ascii_only and ord(ch) > 127:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base or "?")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Mn", "Me", "Zl", "Zp"):
            continue
        if unicodedata.east_asian_width(ch) in ("W", "F") or ord(ch) > 0xFFFF:
            out.append("?")
            continue
        out.append(" " if cat == "Zs" else ch)
    return " ".join("".join(out).split())


def _clean_graph(graph: Graph, ascii_only: bool) -> Graph:
    """The graph with every text _clean; nodes and edges already clean are reused, not copied
    (usually all of them: model copies cost more than the rest of a small render)."""
    def c(x: str) -> str:
        return _clean(x, ascii_only)
    nodes = []
    for n in graph.nodes:
        label, group = c(n.label) or "?", c(n.group) if n.group else n.group
        nodes.append(n if label == n.label and group == n.group
                     else n.model_copy(update={"label": label, "group": group}))
    edges = []
    for e in graph.edges:
        label = c(e.label)
        edges.append(e if label == e.label else e.model_copy(update={"label": label}))
    return graph.model_copy(update={"title": c(graph.title), "nodes": nodes, "edges": edges})


def node_text(node, marked: bool = False) -> str:
    """The decorated box label: change mark, kind markers, flags."""
    o, c = KIND_MARKERS[node.kind]
    s = (CHANGED_MARK if marked else "") + o + node.label + c
    if node.bottleneck:
        s += " " + BOTTLENECK_MARK
    if node.scaling:
        s += " " + SCALING_MARK
    return s


class _Item:
    __slots__ = ("key", "node", "edge", "is_box", "w", "h", "x", "y", "lines", "cw", "ups", "downs", "pos",
                 "in_port", "out_port", "text", "group", "above", "below")

    def __init__(self, key, node=None, edge=None):
        self.key = key
        self.node = node      # node id for boxes
        self.edge = edge      # edge index for dummies
        self.is_box = node is not None   # a plain attribute: read in every hot loop
        self.w = 2
        self.h = 3
        self.x = 0
        self.y = 0
        self.lines: tuple[str, ...] = ()
        self.cw = 0           # widest label line
        self.ups: list[_Link] = []
        self.downs: list[_Link] = []
        self.pos = 0
        self.in_port = None
        self.out_port = None
        self.text = ""
        self.group = None
        # the items at the other end of `ups` / `downs`, filled in once the rows are built
        self.above: list[_Item] = []
        self.below: list[_Item] = []

    @property
    def center(self) -> float:
        return self.x + (self.w - 1) / 2


class _Link:
    __slots__ = ("up", "low", "edge", "first", "last", "rev", "style", "s", "t", "track", "labelled")

    def __init__(self, up, low, edge, first, last, rev, style):
        self.up, self.low, self.edge = up, low, edge
        self.first, self.last, self.rev, self.style = first, last, rev, style
        self.s = self.t = None
        self.track = None
        self.labelled = False


def _break_cycles(ids: list[str], edges) -> list[bool]:
    """Reversed flag per edge so that the rest is acyclic (DFS back edges)."""
    out: dict[str, list[int]] = {i: [] for i in ids}
    for k, e in enumerate(edges):
        out[e.source].append(k)
    state = {i: 0 for i in ids}   # 0 new, 1 on stack, 2 done
    rev = [False] * len(edges)
    has_in = {e.target for e in edges}
    roots = [i for i in ids if i not in has_in] + ids
    for r in roots:
        if state[r]:
            continue
        stack = [(r, iter(out[r]))]
        state[r] = 1
        while stack:
            v, it = stack[-1]
            for k in it:
                w = edges[k].target
                if state[w] == 1:
                    rev[k] = True
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(out[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return rev


def _layers(ids, dag, min_layer) -> dict[str, int]:
    """Longest-path layering of the DAG [(u, v)], honouring lower bounds."""
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    indeg = {i: 0 for i in ids}
    for u, v in dag:
        preds[v].append(u)
        succs[u].append(v)
        indeg[v] += 1
    order, ready = [], [i for i in ids if indeg[i] == 0]
    while ready:
        v = ready.pop(0)
        order.append(v)
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    layer: dict[str, int] = {}
    for v in order:
        layer[v] = max([min_layer.get(v, 0)] + [layer[u] + 1 for u in preds[v]])
    # pull pure sources down next to their first successor (shorter edges)
    for v in order:
        if not preds[v] and succs[v] and v not in min_layer:
            layer[v] = max(layer[v], min(layer[w] for w in succs[v]) - 1)
    return layer


def _channel_crossings(links) -> int:
    """Pairs of links that cross in one channel; `links` as (upper, lower) items.

    Two links cross when their ends are in opposite orders above and below.  Sorted by
    their upper ends, that is an inversion among the lower ends, counted with bisect."""
    total = 0
    below: list[int] = []
    for _, b in sorted([(u.pos, lo.pos) for u, lo in links]):
        total += len(below) - bisect.bisect_right(below, b)
        bisect.insort(below, b)
    return total


def _crossings(channels) -> int:
    return sum(_channel_crossings(links) for links in channels)


def _by_above(it: _Item):
    """Barycenter sort key from the row above (items without links keep their place; one
    neighbour, the common case, is its own mean)."""
    nb = it.above
    if len(nb) == 1:
        return nb[0].pos, it.pos
    return (sum(o.pos for o in nb) / len(nb) if nb else it.pos), it.pos


def _by_below(it: _Item):
    nb = it.below
    if len(nb) == 1:
        return nb[0].pos, it.pos
    return (sum(o.pos for o in nb) / len(nb) if nb else it.pos), it.pos


def _order(rows) -> None:
    def setpos():
        for row in rows:
            for p, it in enumerate(row):
                it.pos = p

    channels = [[(it, o) for it in row for o in it.below] for row in rows]
    setpos()
    counts = [_channel_crossings(links) for links in channels]   # per channel, kept up to date
    best = sum(counts)
    best_rows = [list(r) for r in rows]
    for _ in range(4):
        moved_any = False
        for rng, key in ((range(1, len(rows)), _by_above), (range(len(rows) - 2, -1, -1), _by_below)):
            stale: set[int] = set()     # channels above and below the rows that changed order
            for i in rng:
                row = rows[i]
                before = row[:]
                row.sort(key=key)
                if row != before:
                    stale.update((i - 1, i))
                    for p, it in enumerate(row):
                        it.pos = p
            if not stale:
                continue        # same order, same crossings: nothing to compare
            moved_any = True
            for k in stale:
                if 0 <= k < len(channels):
                    counts[k] = _channel_crossings(channels[k])
            c = sum(counts)
            if c < best:
                best, best_rows = c, [list(r) for r in rows]
        if not moved_any:
            break               # a fixed point: further sweeps would change nothing either
    rows[:] = best_rows
    setpos()
    # boxes of one group side by side, where that costs no extra crossings
    for row in rows:
        if len({it.group for it in row if it.group}) == 0:
            continue
        blocks: list[list[_Item]] = []
        where: dict[str, list[_Item]] = {}
        for it in row:
            if it.group and it.group in where:
                where[it.group].append(it)
            else:
                blocks.append([it])
                if it.group:
                    where[it.group] = blocks[-1]
        new = [it for b in blocks for it in b]
        if new == row:
            continue
        old = list(row)
        row[:] = new
        setpos()
        if _crossings(channels) > best:
            row[:] = old
            setpos()


# _GAP[a.is_box][b.is_box]: blank columns between neighbours a, b in a row
_GAP = ((0, _GAP_DUMMY), (_GAP_DUMMY, _GAP_BOX))


def _gaps(row) -> list[int]:
    """Gap before each item of the row (0 before the first)."""
    return [0] + [_GAP[a.is_box][b.is_box] for a, b in zip(row, row[1:])]


def _row_width(row) -> int:
    return sum(it.w for it in row) + sum(_gaps(row))


@functools.lru_cache(maxsize=4096)
def _wrap_box(text: str, cw: int, breaks: bool) -> tuple[tuple[str, ...], int]:
    """Label lines for content width `cw`, and the widest line (cached: the fitting loops ask
    for the same few labels and widths over and over)."""
    lines = tuple(textwrap.wrap(text, width=max(1, cw), break_long_words=breaks,
                                break_on_hyphens=False) or [""])
    return lines, max(len(s) for s in lines)


@functools.lru_cache(maxsize=4096)
def _longest_word(text: str) -> int:
    return max(len(w) for w in text.split())


def _size_box(it: _Item, cw: int, breaks: bool = True) -> None:
    lines, it.cw = _wrap_box(it.text, cw, breaks)
    deg = max(len(it.ups), len(it.downs))
    it.lines = lines
    it.w = max(it.cw + 4, 2 * deg + 3, 5)
    it.h = len(lines) + 2


def _fit_row(row, width: int, breaks: bool) -> bool:
    """Narrow the widest boxes (wrapping their labels) until the row fits `width`.

    With breaks=False words stay whole; with breaks=True long words may be split."""
    boxes = [it for it in row if it.is_box]
    for it in boxes:
        _size_box(it, _CONTENT_MAX, breaks=True)
    total = _row_width(row)
    if total <= width:
        return True
    # a box can shrink while its label can (floor) and its ports leave room (label width
    # cw + 4 must stay >= 2 * deg + 3); both limits are fixed for the row, so work them out once
    limits = [(it, max(_CONTENT_MIN if breaks else max(_CONTENT_MIN, _longest_word(it.text)),
                       2 * max(len(it.ups), len(it.downs)) - 1)) for it in boxes]
    while total > width:
        best = None
        for it, lim in limits:
            if it.cw - 1 < lim:
                continue
            if best is None or it.w >= best.w:
                best = it
        if best is None:
            break
        before = best.w
        _size_box(best, best.cw - 1, breaks=breaks)
        total -= before - best.w
    return total <= width


def _place(row, desired, canvas, gaps=None, ws=None) -> None:
    """Put the row's items as near `desired` as the gaps allow; `gaps` as from _gaps(row),
    `ws` the items' widths."""
    if gaps is None:
        gaps = _gaps(row)
    if ws is None:
        ws = [it.w for it in row]
    xs = []
    for w, d in zip(ws, desired):     # round(d), clamped to [0, canvas - w] (the upper bound wins)
        x = round(d)
        if x < 0:
            x = 0
        if x > canvas - w:
            x = canvas - w
        xs.append(x)
    for j in range(1, len(row)):
        lo = xs[j - 1] + ws[j - 1] + gaps[j]
        if xs[j] < lo:
            xs[j] = lo
    xs[-1] = min(xs[-1], canvas - ws[-1])
    for j in range(len(row) - 2, -1, -1):
        hi = xs[j + 1] - gaps[j + 1] - ws[j]
        if xs[j] > hi:
            xs[j] = hi
    for it, x in zip(row, xs):
        it.x = x


def _spread(cands: list[int], k: int) -> list[int]:
    m = len(cands)
    if k <= 0:
        return []
    return [cands[min(m - 1, int((i + 0.5) * m / k))] for i in range(k)]


# A line piece in a cell is an int: the directions the line leaves the cell in (N|S|E|W),
# plus the line's style class (ints, unlike tuples, cost the garbage collector nothing).
_SYNC, _ASYNC, _OTHER = 0, 16, 32     # style "sync", "async", anything else (drawn like sync)
_DIRS = 15


def _style_bits(style: str) -> int:
    return _SYNC if style == "sync" else _ASYNC if style == "async" else _OTHER


@functools.lru_cache(maxsize=None)
def _line_glyphs(g: _Glyphs) -> dict[int, str]:
    """Glyph of a cell crossed by one line, by its piece."""
    out = {}
    for bits in (_SYNC, _ASYNC, _OTHER):
        a = bits == _ASYNC
        out.update({(N | S) + bits: g.av if a else g.v, (E | W) + bits: g.ah if a else g.h,
                    (S | E) + bits: g.tl, (S | W) + bits: g.tr, (N | E) + bits: g.bl, (N | W) + bits: g.br})
    return out


class _Canvas:
    """Rows of cells (_EMPTY: nothing drawn there), plus line pieces recorded per cell until resolve().

    A cell's key in `conn` is the int y * _CELL_KEY + x and its piece an int, not a (y, x) tuple
    and a list of tuples: a render records about a thousand line cells, and that would be
    thousands of objects for the garbage collector to track (see _release for why that matters)."""

    def __init__(self, height: int = 0, width: int = 0):
        self.rows: list[list[str]] = [[_EMPTY] * width for _ in range(height)]
        # line pieces (see _SYNC): the first per cell in `conn`, any further ones (crossings,
        # rare) in `more`
        self.conn: dict[int, int] = {}
        self.more: dict[int, list[int]] = {}
        self.labels: dict[int, set[int]] = {}       # row -> columns holding label text
        self.open_conn: set[int] = set()            # line cells still showing a space after resolve

    def put(self, y: int, x: int, ch: str) -> None:
        rows = self.rows
        while len(rows) <= y:
            rows.append([])
        r = rows[y]
        if len(r) <= x:
            r.extend([_EMPTY] * (x + 1 - len(r)))
        r[x] = ch

    def put_row(self, y: int, x: int, text: str) -> None:
        rows = self.rows
        while len(rows) <= y:
            rows.append([])
        r = rows[y]
        end = x + len(text)
        if len(r) < end:
            r.extend([_EMPTY] * (end - len(r)))
        r[x:end] = text

    def _piece(self, key: int, piece: int) -> None:
        if key in self.conn:
            self.more.setdefault(key, []).append(piece)
        else:
            self.conn[key] = piece

    def vline(self, x: int, y0: int, y1: int, style: str) -> None:
        """A line down column x through rows y0..y1, open at both ends."""
        conn = self.conn
        piece = N | S | _style_bits(style)
        for key in range(y0 * _CELL_KEY + x, y1 * _CELL_KEY + x + 1, _CELL_KEY):
            if key in conn:
                self.more.setdefault(key, []).append(piece)
            else:
                conn[key] = piece

    def turn(self, y: int, x0: int, x1: int, style: str) -> None:
        """A line coming down into (y, x0), along row y, leaving (y, x1) downwards."""
        base = y * _CELL_KEY
        bits = _style_bits(style)
        if x0 == x1:
            self._piece(base + x0, N | S | bits)
            return
        on, back = (E, W) if x1 > x0 else (W, E)
        self._piece(base + x0, N | on | bits)
        conn = self.conn
        piece = E | W | bits
        step = 1 if x1 > x0 else -1
        for key in range(base + x0 + step, base + x1, step):
            if key in conn:
                self.more.setdefault(key, []).append(piece)
            else:
                conn[key] = piece
        self._piece(base + x1, back | S | bits)

    def resolve(self, g: _Glyphs) -> None:
        """Draw every line cell not drawn yet (arrowheads and border ports win).

        Afterwards every line cell holds a character; the few that hold a space are kept in
        `open_conn`, so label placement can test blank cells on the rows alone."""
        single = _line_glyphs(g)
        rows = self.rows
        nrows = len(rows)
        more = self.more
        for key, piece in self.conn.items():
            y, x = divmod(key, _CELL_KEY)
            row = rows[y] if y < nrows else ()
            inside = x < len(row)
            if inside:
                cur = row[x]
                if cur != _EMPTY:
                    if cur == " ":
                        self.open_conn.add(key)
                    continue   # arrowhead or border port already there
            if key not in more:
                ch = single[piece]
            else:
                parts = [piece] + more[key]
                vert = [p - (p & _DIRS) for p in parts if p & _DIRS == N | S]
                if all(p - (p & _DIRS) == _SYNC for p in parts):
                    ch = g.cross if g is UNICODE else g.v
                else:
                    ch = g.av if vert and vert[0] == _ASYNC else g.v
            if inside:
                row[x] = ch
            else:
                self.put(y, x, ch)

    def text(self) -> list[str]:
        return ["".join(r).replace(_EMPTY, " ").rstrip() for r in self.rows]


def _draw_box(cv: _Canvas, it: _Item, g: _Glyphs) -> None:
    x, y, w, h = it.x, it.y, it.w, it.h
    inner = w - 2
    cv.put_row(y, x, g.tl + g.h * inner + g.tr)
    content = it.lines + ("",) * (h - 2 - len(it.lines))
    for j, s in enumerate(content):
        left = (inner - len(s)) // 2
        cv.put_row(y + 1 + j, x, g.v + (" " * left + s).ljust(inner) + g.v)
    cv.put_row(y + h - 1, x, g.bl + g.h * inner + g.br)


def render_text(graph: Graph, *, width: int = 60, ascii_only: bool = False,
                previous: Graph | None = None) -> RenderedDiagram:
    """Draw the graph as box-drawing text no wider than `width`, with its legend."""
    return render_text_layout(graph, width=width, ascii_only=ascii_only, previous=previous)[0]


def render_text_layout(graph: Graph, *, width: int = 60, ascii_only: bool = False,
                       previous: Graph | None = None) -> tuple[RenderedDiagram, Layout]:
    check_graph(graph)
    width = max(24, int(width))
    graph = _clean_graph(graph, ascii_only)
    if previous is not None:
        previous = _clean_graph(previous, ascii_only)
    g = ASCII if ascii_only else UNICODE
    changes: list[str] = []
    marked: set[str] = set()
    if previous is not None:
        d = diff_graphs(previous, graph)
        changes = d.lines(previous, graph)
        marked = d.marked_nodes
    nodes = {n.id: n for n in graph.nodes}
    ids = [n.id for n in graph.nodes]
    edges, origin = _merge_parallel(graph.edges)
    texts = {i: node_text(nodes[i], i in marked) for i in ids}
    groups = {n.id: n.group for n in graph.nodes if n.group}

    rev = _break_cycles(ids, edges)
    dag = [(e.target, e.source) if r else (e.source, e.target) for e, r in zip(edges, rev)]
    layer = _layers(ids, dag, {})
    succ: dict[str, list[int]] = {i: [] for i in ids}
    npred = {i: 0 for i in ids}
    for k, (u, v) in enumerate(dag):
        succ[u].append(k)
        npred[v] += 1
    # narrowest box each node can have without breaking words (labels wrapped, ports spaced)
    minw = {i: max(max([_CONTENT_MIN] + [len(w) for w in texts[i].split()]) + 4,
                   2 * max(npred[i], len(succ[i])) + 3, 5) for i in ids}
    _prefit_layers(ids, dag, layer, succ, npred, minw, width)
    rows = _fit_layers(ids, edges, dag, rev, texts, groups, layer, width, succ, npred, minw)
    if rows is None:
        # last resort before a plain listing: one box per row, in topological order
        topo = sorted(ids, key=lambda v: (layer[v], ids.index(v)))
        rows = _fit_layers(ids, edges, dag, rev, texts, groups, {v: i for i, v in enumerate(topo)}, width,
                           succ, npred, minw)

    layout = Layout()
    if rows is None:
        return _render_list(graph, g, width, texts, changes, marked, layout)

    canvas = max(_row_width(r) for r in rows)
    _position(rows, canvas)
    # spare width: a left margin, so labels fit beside lines on both sides
    off = max(0, min((width - canvas) // 2, _MAX_MARGIN))
    for row in rows:
        for it in row:
            it.x += off
    canvas += off
    # vertical placement: bands and channels
    links_by_row: list[list[_Link]] = [[lk for it in row for lk in it.downs] for row in rows]
    y = 0
    title_lines = _wrap(graph.title, width) if graph.title else []
    band_top: list[int] = []
    band_h: list[int] = []
    channels: list[tuple[int, int]] = []
    # ports and tracks first (they decide channel heights)
    for i in range(len(rows) - 1):
        _assign_ports(rows[i], rows[i + 1], links_by_row[i])
    ntracks = []
    for i in range(len(rows) - 1):
        ntracks.append(_assign_tracks(links_by_row[i], edges))
    for i, row in enumerate(rows):
        h = max([it.h for it in row if it.is_box] + [3])
        band_top.append(y)
        band_h.append(h)
        for it in row:
            it.y = y
        y += h
        if i < len(rows) - 1:
            ch = ntracks[i] + 2
            channels.append((y, ch))
            y += ch

    # every row of the picture, and each as wide as anything drawn in it gets (the tallest box
    # of the last band reaches the bottom), so drawing never has to grow the canvas
    cv = _Canvas(y, max(canvas, width))
    for row in rows:
        for it in row:
            if it.is_box:
                _draw_box(cv, it, g)
                layout.boxes[it.node] = (it.x, it.y, it.w, it.h)
    # dummies through their band
    for i, row in enumerate(rows):
        for it in row:
            if it.is_box:
                continue
            top, bot = band_top[i], band_top[i] + band_h[i] - 1
            a, b = it.in_port, it.out_port
            style = edges[it.edge].style
            if a == b:
                cv.vline(a, top, bot, style)
            else:
                cv.vline(a, top, top, style)
                cv.turn(top + 1, a, b, style)
                cv.vline(b, top + 2, bot, style)
    # channel links
    for i in range(len(rows) - 1):
        cy, chh = channels[i]
        for lk in links_by_row[i]:
            up, low = lk.up, lk.low
            y0 = up.y + up.h if up.is_box else cy
            y1 = cy + chh - 1
            if lk.track is None:
                cv.vline(lk.s, y0, y1, lk.style)
            else:
                # down to its track row, along it, down to the lower box
                tr = cy + 1 + lk.track
                cv.vline(lk.s, y0, tr - 1, lk.style)
                cv.turn(tr, lk.s, lk.t, lk.style)
                cv.vline(lk.t, tr + 1, y1, lk.style)
            if lk.first and not lk.rev:
                cv.put(up.y + up.h - 1, lk.s, g.port_down)
            if lk.first and lk.rev:
                cv.put(y0, lk.s, g.up)
            if lk.last and not lk.rev:
                cv.put(y1, lk.t, g.down)
            if lk.last and lk.rev:
                cv.put(low.y, lk.t, g.port_up)
    cv.resolve(g)

    # edge labels beside their own vertical, on their own track row
    listed: list[int] = []
    for i in range(len(rows) - 1):
        cy, chh = channels[i]
        for lk in links_by_row[i]:
            if not lk.labelled:
                continue
            lab = edges[lk.edge].label
            tr = cy + 1 + lk.track
            # own track row first, then beside its own vertical runs in this channel
            y0 = lk.up.y + lk.up.h if lk.up.is_box else cy
            y1 = cy + chh - 1
            tries = [(tr, lk.t), (tr, lk.s)]
            tries += [(r, lk.t) for r in range(tr + 1, y1)] + [(r, lk.s) for r in range(tr - 1, max(cy, y0) - 1, -1)]
            if _place_label(cv, tries, lab, width):
                layout.inline_labels.append(lk.edge)
            else:
                listed.append((lk, tries))
    # labels that do not fit beside their line: a short tag there, the label in a list below
    listed.sort(key=lambda p: p[0].edge)
    tags: dict[int, str] = {}
    for n, (lk, tries) in enumerate(listed, 1):
        if _place_label(cv, tries, f"({n})", width):
            tags[lk.edge] = f"({n}) "
    listed_drawn = [lk.edge for lk, _ in listed]
    layout.listed_labels = sorted(i for k in listed_drawn for i in origin[k] if graph.edges[i].label)
    layout.inline_labels = sorted(i for k in layout.inline_labels for i in origin[k] if graph.edges[i].label)

    # drop track rows that ended up holding only straight vertical runs (no turn, no label)
    plain = {_EMPTY, " ", g.v, g.av}
    dead = set()
    for cy, chh in channels:
        for y in range(cy + 1, cy + chh - 1):
            if y >= len(cv.rows) or plain.issuperset(cv.rows[y]):
                dead.add(y)
    if dead:
        cv.rows = [r for y, r in enumerate(cv.rows) if y not in dead]
        layout.boxes = {k: (x, y - sum(1 for d in dead if d < y), w, h)
                        for k, (x, y, w, h) in layout.boxes.items()}

    lines = [s.center(min(width, canvas + off)).rstrip() for s in title_lines]
    if lines:
        lines.append("")
    top = len(lines)
    layout.boxes = {k: (x, y + top, w, h) for k, (x, y, w, h) in layout.boxes.items()}
    lines += cv.text()
    if listed:
        lines.append("")
        lines.append("Edge labels:")
        for k in listed_drawn:
            e = edges[k]
            text = f"{tags.get(k, '')}{nodes[e.source].label} {g.arrow} {nodes[e.target].label}: {e.label}"
            lines += _wrap(text, width, "    ")
    lines += _group_lines(graph, width)
    _release(rows)
    used_back = any(r for r in rev)
    legend = _legend(graph, g, marked, back=used_back, list_mode=False, width=width)
    return RenderedDiagram("\n".join(lines), legend, changes), layout


def _fit_layers(ids, edges, dag, rev, texts, groups, layer, width, succ, npred, minw):
    """Rows that fit `width` for this layering (splitting rows as needed), or None."""
    skip = 0
    ordered = False   # row widths hardly depend on order: order only once the layering fits
    for _attempt in range(8 * len(ids) + 8):
        rows = _build_rows(ids, edges, dag, rev, texts, groups, layer)
        if ordered:
            _order(rows)
        widths_ok, bump = _fit_rows(rows, width, skip=0 if ordered else skip)
        if bump is not None:
            skip = bump[1]    # rows above a split are unchanged: no need to re-fit them
        if widths_ok and not ordered:
            # the layering fits: order these same rows and fit them again (gaps depend on the order;
            # _fit_row sizes every box afresh, so nothing from the unordered fit carries over)
            ordered = True
            _order(rows)
            widths_ok, bump = _fit_rows(rows, width)
        if widths_ok:
            return rows
        est = _row_estimates(rows, minw)
        _release(rows)      # the next attempt builds its own rows
        if bump is None:
            return None
        moved, at = bump
        _move_down(moved, at, layer, dag, succ, npred, minw, est, len(rows), width)
    return None


def _release(rows) -> None:
    """Break the item <-> link cycles of rows no longer needed.

    Items list their links and links name their items, so without this every render would
    leave hundreds of objects that only the cyclic garbage collector can free; its collections
    (a full one can take 10-20 ms) then land in the middle of later renders."""
    for row in rows:
        for it in row:
            it.ups = it.downs = it.above = it.below = ()


def _move_down(moved, at, layer, dag, succ, npred, minw, est, nrows, width) -> None:
    """Move nodes out of row `at`: each to the first lower row with room that keeps it above
    its successors, else one row down with its successors pushed along."""
    for node in moved:
        lim = min((layer[dag[k][1]] for k in succ[node]), default=nrows + 1) - 1
        dest = at + 1
        for k in range(at + 1, lim + 1):
            if est.get(k, 0) + minw[node] + _GAP_BOX <= width:
                dest = k
                break
        layer[node] = dest
        est[dest] = est.get(dest, 0) + minw[node] + _GAP_BOX
        for j in range(at + 1, dest):
            est[j] = est.get(j, 0) + npred[node] * _DUMMY_COST
    todo = list(moved)
    while todo:
        u = todo.pop()
        for k in succ[u]:
            w = dag[k][1]
            if layer[w] <= layer[u]:
                layer[w] = layer[u] + 1
                todo.append(w)


def _prefit_layers(ids, dag, layer, succ, npred, minw, width) -> None:
    """Cheap first pass on estimated row widths, so the real fitting rarely needs to split rows."""
    for _ in range(4 * len(ids) + 4):
        nl = max(layer.values()) + 1
        boxes: list[list[str]] = [[] for _ in range(nl)]
        boxw = [0] * nl     # narrowest boxes, a gap after each
        dums = [0] * nl
        for v in ids:
            boxes[layer[v]].append(v)
            boxw[layer[v]] += minw[v] + _GAP_BOX
        for u, v in dag:
            for L in range(layer[u] + 1, layer[v]):
                dums[L] += 1
        est = {L: boxw[L] - _GAP_BOX + _DUMMY_COST * dums[L] + (2 if dums[L] else 0) for L in range(nl)}
        bad = next((L for L in range(nl) if est[L] > width and len(boxes[L]) >= 2), None)
        if bad is None:
            return
        cands = sorted(reversed(boxes[bad]), key=lambda v: (npred[v], len(succ[v])))
        need, moved = est[bad], []
        for v in cands[:-1]:
            moved.append(v)
            need -= minw[v] + _GAP_BOX - npred[v] * _DUMMY_COST
            if need <= width:
                break
        _move_down(moved, bad, layer, dag, succ, npred, minw, est, nl, width)


def _row_estimates(rows, minw) -> dict[int, int]:
    """Lower bounds of each row's width: narrowest boxes, pass-through lines, gaps."""
    est = {}
    for k, row in enumerate(rows):
        w = sum(minw[it.node] + _GAP_BOX if it.is_box else _DUMMY_COST for it in row)
        est[k] = max(0, w - _GAP_BOX)
    return est


def _merge_parallel(edges):
    """One drawn edge per (source, target, style); labels joined. Also maps back to the originals."""
    merged: list = []
    origin: list[list[int]] = []
    index: dict[tuple[str, str, str], int] = {}
    for i, e in enumerate(edges):
        key = (e.source, e.target, e.style)
        if key not in index:
            index[key] = len(merged)
            merged.append(e)
            origin.append([i])
            continue
        k = index[key]
        origin[k].append(i)
        labels = [x for x in merged[k].label.split(", ") if x]
        if e.label and e.label not in labels:
            merged[k] = merged[k].model_copy(update={"label": ", ".join(labels + [e.label])})
    return merged, origin


def _build_rows(ids, edges, dag, rev, texts, groups, layer):
    """Rows of items for the given layering (boxes, then pass-through dummies), linked along the edges."""
    nl = max(layer.values()) + 1
    rows: list[list[_Item]] = [[] for _ in range(nl)]
    items: dict[str, _Item] = {}
    for i in sorted(ids, key=lambda v: layer[v]):
        it = _Item(("n", i), node=i)
        it.text = texts[i]
        it.group = groups.get(i)
        items[i] = it
        rows[layer[i]].append(it)
    for k, (u, v) in enumerate(dag):
        chain = [items[u]]
        for L in range(layer[u] + 1, layer[v]):
            d = _Item(("d", k, L), edge=k)
            rows[L].append(d)
            chain.append(d)
        chain.append(items[v])
        n = len(chain) - 1
        for j in range(n):
            lk = _Link(chain[j], chain[j + 1], k, j == 0, j == n - 1, rev[k], edges[k].style)
            chain[j].downs.append(lk)
            chain[j].below.append(chain[j + 1])
            chain[j + 1].ups.append(lk)
            chain[j + 1].above.append(chain[j])
    return rows


def _fit_rows(rows, width, skip=0):
    """Fit rows `skip`.. into `width`: (fits, (nodes to move down, their row) or None)."""
    for L, row in enumerate(rows):
        if L < skip:
            continue
        if _fit_row(row, width, breaks=False):
            continue
        boxes = [it for it in row if it.is_box]
        if len(boxes) <= 1:
            if _fit_row(row, width, breaks=True):
                continue
            return False, None
        # move down the boxes that add the fewest pass-through lines (rightmost on ties)
        # until what stays would fit
        cands = sorted(reversed(boxes), key=lambda it: (len(it.ups), len(it.downs)))
        need = _row_width(row)
        moved = []
        for it in cands[:-1]:
            moved.append(it.node)
            need -= it.w + _GAP_BOX - len(it.ups) * _DUMMY_COST
            if need <= width:
                break
        return False, (moved, L)
    return True, None


def _position(rows, canvas: int) -> None:
    # row order and box sizes are final here: the gaps never change, work them out once
    row_gaps = [_gaps(row) for row in rows]
    for row, gaps in zip(rows, row_gaps):
        x = (canvas - sum(it.w for it in row) - sum(gaps)) // 2
        for it, gap in zip(row, gaps):
            x += gap
            it.x = x
            x += it.w

    row_ws = [[it.w for it in row] for row in rows]

    def sweep(rng, attr):
        # each item towards the mean centre of its neighbours in the row above (or below)
        for i in rng:
            row = rows[i]
            desired = []
            for it in row:
                nb = getattr(it, attr)
                if len(nb) == 1:        # most items: a pass-through line or a single link
                    o = nb[0]
                    desired.append(o.x + (o.w - 1) / 2 - (it.w - 1) / 2)
                elif nb:
                    c = sum(o.x + (o.w - 1) / 2 for o in nb) / len(nb)
                    desired.append(c - (it.w - 1) / 2)
                else:
                    desired.append(it.x)
            _place(row, desired, canvas, row_gaps[i], row_ws[i])

    n = len(rows)
    for _ in range(3):
        sweep(range(1, n), "above")
        sweep(range(n - 2, -1, -1), "below")
    sweep(range(1, n), "above")


def _span(it: _Item) -> tuple[int, int]:
    """First and last column where a line may meet the item: inside a box's border, or either
    of a pass-through line's two columns."""
    if it.is_box:
        return it.x + 1, it.x + it.w - 2
    return it.x, it.x + 1


def _assign_ports(upper, lower, links) -> None:
    used_up: set[int] = set()
    used_low: set[int] = set()
    left_up = {id(it): len(it.downs) for it in upper}
    left_low = {id(it): len(it.ups) for it in lower}

    def parity_free(it, used, parity):
        first, last = _span(it)
        first += (first - parity) % 2
        return [c for c in range(first, last + 1, 2) if c not in used]

    def roomy(cols, used, k):
        """Prefer columns not right next to a port already taken (easier to tell lines apart)."""
        apart = [c for c in cols if c - 1 not in used and c + 1 not in used]
        return apart if len(apart) >= k else cols

    # straight drops where possible, keeping enough parity columns for the rest
    for lk in sorted(links, key=lambda lk: (abs(lk.up.center - lk.low.center), lk.edge)):
        u, lo = lk.up, lk.low
        (a1, a2), (b1, b2) = _span(u), _span(lo)
        if max(a1, b1) > min(a2, b2):
            continue            # not above one another: no straight drop
        common = [c for c in range(max(a1, b1), min(a2, b2) + 1) if c not in used_up and c not in used_low]
        if not common:
            continue
        mid = (u.center + lo.center) / 2
        # taking column c leaves one free column fewer of c's parity: out-ports (even) above,
        # in-ports (odd) below must still cover the item's other links.  That depends on c's
        # parity alone, so keep the columns of a parity that allows it and take the best of them
        free_up, need_up = len(parity_free(u, used_up, 0)), left_up[id(u)] - 1
        free_low, need_low = len(parity_free(lo, used_low, 1)), left_low[id(lo)] - 1
        parity_ok = (free_up - 1 >= need_up and free_low >= need_low,      # even c
                     free_up >= need_up and free_low - 1 >= need_low)      # odd c
        common = [c for c in common if parity_ok[c % 2]]
        if not common:
            continue
        c = min(common, key=lambda c: (c - 1 in used_up or c + 1 in used_up or c - 1 in used_low
                                       or c + 1 in used_low, abs(c - mid), c))
        lk.s = lk.t = c
        used_up.add(c)
        used_low.add(c)
        left_up[id(u)] -= 1
        left_low[id(lo)] -= 1
    for it in upper:
        rest = [lk for lk in it.downs if lk.s is None]
        if not rest:
            continue
        rest.sort(key=lambda lk: (lk.low.center, lk.low.pos, lk.edge))
        # free ports left to right, in the left-to-right order of the targets
        cols = _spread(roomy(parity_free(it, used_up, 0), used_up, len(rest)), len(rest))
        for lk, c in zip(rest, cols):
            lk.s = c
            used_up.add(c)
    for it in lower:
        rest = [lk for lk in it.ups if lk.t is None]
        if not rest:
            continue
        rest.sort(key=lambda lk: (lk.s, lk.edge))
        cols = _spread(roomy(parity_free(it, used_low, 1), used_low, len(rest)), len(rest))
        for lk, c in zip(rest, cols):
            lk.t = c
            used_low.add(c)
    for lk in links:
        if not lk.up.is_box:
            lk.up.out_port = lk.s
        if not lk.low.is_box:
            lk.low.in_port = lk.t


def _cost(a, b) -> int:
    """Crossings added when a's track is above b's track; a, b are (s, t, min, max) of a link:
    a's drop to t crosses b's track, b's drop from s crosses a's track."""
    return (b[2] < a[1] < b[3]) + (a[2] < b[0] < a[3])


def _assign_tracks(links, edges) -> int:
    tracked = []
    for lk in links:
        e = edges[lk.edge]
        lk.labelled = bool(e.label) and ((lk.last and not lk.rev) or (lk.first and lk.rev))
        if lk.s != lk.t or lk.labelled:
            tracked.append(lk)
    tracked.sort(key=lambda lk: (lk.t < lk.s, lk.s if lk.t >= lk.s else -lk.s, lk.edge))
    spans = [(lk.s, lk.t, min(lk.s, lk.t), max(lk.s, lk.t), lk) for lk in tracked]
    improved = True
    passes = 0
    while improved and passes < 50:
        improved = False
        passes += 1
        for i in range(len(spans) - 1):
            a, b = spans[i], spans[i + 1]
            if _cost(b, a) < _cost(a, b):
                spans[i], spans[i + 1] = b, a
                improved = True
    for k, span in enumerate(spans):
        span[4].track = k
    return len(spans)


def _label_fits(cv: _Canvas, y: int, x0: int, n: int, width: int) -> bool:
    """Room for n label characters at row y from column x0, with a blank cell either side
    (only asked after cv.resolve, so blank cells can be read off the rows)."""
    if x0 < 0 or x0 + n > width:
        return False
    lo, hi = max(0, x0 - 1), min(width, x0 + n + 1)
    if y < len(cv.rows):
        seg = cv.rows[y][lo:hi]
        if seg.count(_EMPTY) + seg.count(" ") != len(seg):
            return False
    if cv.open_conn and not cv.open_conn.isdisjoint(range(y * _CELL_KEY + lo, y * _CELL_KEY + hi)):
        return False
    # keep labels of different edges apart: not on the same row nearby, not stacked above/below
    near = cv.labels.get(y)
    if near and not near.isdisjoint(range(x0 - 3, x0 + n + 3)):
        return False
    for yy in (y - 1, y + 1):
        near = cv.labels.get(yy)
        if near and not near.isdisjoint(range(x0 - 1, x0 + n + 1)):
            return False
    return True


def _put_label(cv: _Canvas, y: int, x0: int, text: str) -> None:
    cv.put_row(y, x0, text)
    cv.labels.setdefault(y, set()).update(range(x0, x0 + len(text)))


def _split_label(label: str) -> tuple[str, str] | None:
    words = label.split()
    if len(words) < 2:
        return None
    best = min(range(1, len(words)),
               key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))))
    return " ".join(words[:best]), " ".join(words[best:])


def _place_label(cv: _Canvas, tries, label: str, width: int) -> bool:
    """Write the label beside its own vertical run (1 blank cell each side), on one row or,
    when that does not fit, on two rows; False if nowhere fits."""
    n = len(label)
    for y, col in tries:
        for x0 in (col + 2, col - 1 - n):
            if _label_fits(cv, y, x0, n, width):
                _put_label(cv, y, x0, label)
                return True
    parts = _split_label(label)
    if parts is None:
        return False
    a, b = parts
    spots = set(tries)
    for y, col in tries:
        if (y + 1, col) not in spots:
            continue
        for right in (True, False):
            xa = col + 2 if right else col - 1 - len(a)
            xb = col + 2 if right else col - 1 - len(b)
            if _label_fits(cv, y, xa, len(a), width) and _label_fits(cv, y + 1, xb, len(b), width):
                _put_label(cv, y, xa, a)
                _put_label(cv, y + 1, xb, b)
                return True
    return False


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


def _legend(graph: Graph, g: _Glyphs, marked: set[str], *, back: bool, list_mode: bool, width: int) -> str:
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


def _render_list(graph, g, width, texts, changes, marked, layout):
    """Fallback when no layered drawing fits: stacked boxes, connections listed."""
    layout.list_mode = True
    cv = _Canvas()
    x = y = row_h = 0
    for n in graph.nodes:     # boxes packed left to right, wrapping at the width
        it = _Item(("n", n.id), node=n.id)
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
    legend = _legend(graph, g, marked, back=False, list_mode=True, width=width)
    return RenderedDiagram("\n".join(lines), legend, changes), layout
