"""Text that goes into the picture: cleaning, box labels, wrapping, edge labels beside their lines."""
from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any

from .canvas import _CELL_KEY, _EMPTY, Canvas
from .layout import SPARE, LayoutState, Link
from .model import Graph, NodeKind
from .width import char_width, dw, wrap

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


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return list(wrap(text, width, indent))


def _clean(s: str, ascii_only: bool) -> str:
    """Text the canvas can hold: control, format (zero-width, bidi) and combining marks left out
    (after composing what composes), whitespace runs as one space; in ASCII mode transliterated
    (café -> cafe) and '?' for what has no ASCII form."""
    if s.isascii() and s.isprintable():
        return " ".join(s.split())
    s = unicodedata.normalize("NFC", s)
    out = []
    for ch in s:
        if ch.isspace():
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zl", "Zp") or char_width(ch) == 0:
            continue
        if ascii_only and ord(ch) > 127:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append("".join(c for c in base if c.isprintable()) or "?")
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


@functools.lru_cache(maxsize=4096)
def _wrap_box(text: str, cw: int, breaks: bool) -> tuple[tuple[str, ...], int]:
    """Label lines for content width `cw`, and the widest line (cached: the fitting loops ask
    for the same few labels and widths over and over)."""
    lines = wrap(text, cw, "", breaks)
    return lines, max(dw(s) for s in lines)


@functools.lru_cache(maxsize=4096)
def _longest_word(text: str) -> int:
    return max(dw(w) for w in text.split())


def _label_fits(cv: Canvas, y: int, x0: int, n: int, width: int, pad: tuple[int, int] = (1, 1)) -> bool:
    """Room for n label characters at row y from column x0, with pad[0] blank cells before and pad[1]
    after (only asked after cv.resolve, so blank cells can be read off the rows).  A label sits one
    blank from its own line and two from anything on its far side, so no other line can own it."""
    if x0 < 0 or x0 + n > width:
        return False
    lo, hi = max(0, x0 - pad[0]), min(width, x0 + n + pad[1])
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


_RIGHT = (1, 2)     # a label right of its line: one blank before it, two after
_LEFT = (2, 1)


def _put_label(cv: Canvas, y: int, x0: int, text: str) -> None:
    cv.put_row(y, x0, text)
    cv.labels.setdefault(y, set()).update(range(x0, x0 + dw(text)))


def _split_label(label: str) -> tuple[str, str] | None:
    words = label.split()
    if len(words) < 2:
        return None
    best = min(range(1, len(words)),
               key=lambda i: max(dw(" ".join(words[:i])), dw(" ".join(words[i:]))))
    return " ".join(words[:best]), " ".join(words[best:])


def _place_label(cv: Canvas, tries: list[tuple[int, int, int]], label: str, width: int,
                 cost: Callable[[int], int] | None = None,
                 max_cost: int = 2) -> list[tuple[int, int, str, int]] | None:
    """Write the label beside its own vertical run (1 blank cell from it, 2 from anything else), on
    one row or, when that does not fit, on two; where it went, or None if nowhere fits.  `tries`: (row, column of
    the line, sides allowed: 1 right, -1 left, 0 either).  With `cost` (extra picture lines a label
    on that row adds), the spots adding the fewest lines (at most `max_cost`) win, one row before
    two at equal cost."""
    costs = {y: cost(y) if cost else 0 for y, _, _ in tries}
    spots = {(y, col) for y, col, _ in tries}
    levels = set(costs.values()) | {c + costs.get(y + 1, 0) for y, c in costs.items()}
    for level in sorted(c for c in levels if c <= max_cost):
        done = (_place_one(cv, [t for t in tries if costs[t[0]] == level], label, width)
                or _place_two(cv, [t for t in tries if (t[0] + 1, t[1]) in spots
                                   and costs[t[0]] + costs[t[0] + 1] == level], label, width))
        if done:
            return done
    return None


def _place_one(cv: Canvas, tries: list[tuple[int, int, int]], label: str,
               width: int) -> list[tuple[int, int, str, int]] | None:
    n = dw(label)
    for y, col, side in tries:
        for x0, pad, s in ((col + 2, _RIGHT, 1), (col - 1 - n, _LEFT, -1)):
            if side in (0, s) and _label_fits(cv, y, x0, n, width, pad):
                _put_label(cv, y, x0, label)
                return [(y, x0, label, s)]
    return None


def _place_two(cv: Canvas, tries: list[tuple[int, int, int]], label: str,
               width: int) -> list[tuple[int, int, str, int]] | None:
    """The label split over two rows, from each try's row down (`tries` have their next row too)."""
    parts = _split_label(label)
    if parts is None or not tries:
        return None
    a, b = parts
    for y, col, side in tries:
        for s in (1, -1):
            if side not in (0, s):
                continue
            xa = col + 2 if s > 0 else col - 1 - dw(a)
            xb = col + 2 if s > 0 else col - 1 - dw(b)
            pad = _RIGHT if s > 0 else _LEFT
            if _label_fits(cv, y, xa, dw(a), width, pad) and _label_fits(cv, y + 1, xb, dw(b), width, pad):
                _put_label(cv, y, xa, a)
                _put_label(cv, y + 1, xb, b)
                return [(y, xa, a, s), (y + 1, xb, b, s)]
    return None


def _erase(cv: Canvas, spots: list[tuple[int, int, str, int]]) -> None:
    for y, x0, text, _side in spots:
        n = dw(text)
        cv.rows[y][x0:x0 + n] = [_EMPTY] * n
        cv.labels[y].difference_update(range(x0, x0 + n))


def _tries(st: LayoutState, lk: Link, channel: tuple[int, int], from_arrow: bool) -> list[tuple[int, int, int]]:
    """Where a link's label may go: its track row (on the side away from its own sideways run),
    then beside its vertical runs in the channel (a straight drop: from the top down, or from
    its arrowhead up)."""
    cy, chh = channel
    y0 = lk.up.y + lk.up.h if lk.up.is_box else cy
    y1 = cy + chh - 1
    if lk.track is None:        # a straight drop: beside it, anywhere down the channel
        rows = range(y1, max(cy, y0) - 1, -1) if from_arrow else range(max(cy, y0), y1 + 1)
        return [(r, lk.s, 0) for r in rows]
    tr = cy + 1 + SPARE + lk.track
    out = 0 if lk.s == lk.t else (1 if lk.t > lk.s else -1)
    tries = [(tr, lk.t, out), (tr, lk.s, -out)]
    tries += [(r, lk.t, 0) for r in range(tr + 1, y1 + (not lk.rev))] if lk.track is not None else []
    tries += [(r, lk.s, 0) for r in range(tr - 1, max(cy, y0) - 1, -1)]
    return tries


_ON_LINE = "123456789"


def _place_on_run(st: LayoutState, cv: Canvas, lk: Link, channel: tuple[int, int], label: str) -> bool:
    """Write the label into the link's sideways run (`──── label ────`), as near its middle as
    the run allows: a blank before and after it, and at least one cell of the line left on each
    side.  Only where nothing crosses that stretch and no other label sits next to it."""
    if lk.track is None or any("\u2500" <= ch <= "\u257f" for ch in label):
        return False        # box-drawing characters in it would read as part of the line
    n = dw(label)
    y = channel[0] + 1 + SPARE + lk.track
    lo, hi = min(lk.s, lk.t), max(lk.s, lk.t)       # the run's corners
    run = (st.glyphs.h, st.glyphs.ah)
    row = cv.rows[y]
    mid = (lo + hi - n + 1) // 2
    for x0 in sorted(range(lo + 3, hi - n - 1), key=lambda x: (abs(x - mid), x)):
        if all(row[x] in run and cv.conn_count(y, x) == 1 for x in range(x0 - 2, x0 + n + 2)) and not any(
                near and not near.isdisjoint(range(x0 - 3, x0 + n + 3))
                for near in (cv.labels.get(y - 1), cv.labels.get(y), cv.labels.get(y + 1))):
            row[x0 - 1] = row[x0 + n] = " "
            cv.open_conn.update((y * _CELL_KEY + x0 - 1, y * _CELL_KEY + x0 + n))
            _put_label(cv, y, x0, label)
            return True
    return False


def _on_line_spot(st: LayoutState, cv: Canvas, lk: Link,
                  tries: list[tuple[int, int, int]]) -> tuple[int, int, str, int]:
    """A cell of the link's own vertical run (a plain line cell, not a crossing or an arrowhead)."""
    plain = (st.glyphs.v, st.glyphs.av)

    def line_cell(y: int, col: int) -> bool:
        row = cv.rows[y] if 0 <= y < len(cv.rows) else []
        return col < len(row) and row[col] in plain and cv.conn_count(y, col) == 1

    for y, col, _side in tries:
        # a cell of its own line, with another one next to it still showing the line's style
        for other in (y - 1, y + 1):
            if line_cell(y, col) and line_cell(other, col):
                st.keep_rows.add(other)
                return y, col, cv.rows[y][col], 0
    raise NoRoomForTag(lk)


class _RowCost:
    """Extra picture lines a label adds on a canvas row: 1 on a row only vertical lines cross (it is
    dropped again when no label lands there), 0 on a row the picture keeps anyway (a turn, an
    arrowhead, a box, a label placed for good; tags placed for a try do not count)."""

    def __init__(self, st: LayoutState, cv: Canvas):
        plain = {_EMPTY, " ", st.glyphs.v, st.glyphs.av}
        self.optional: set[int] = set()
        for cy, chh in st.channels:
            if chh > 2:
                self.optional.update(y for y in range(cy, cy + chh - 1)
                                     if y not in st.keep_rows and (y >= len(cv.rows) or plain.issuperset(cv.rows[y])))

    def keep(self, spots: list[tuple[int, int, str, int]] | None) -> None:
        for y, *_ in spots or ():
            self.optional.discard(y)

    def __call__(self, y: int) -> int:
        return int(y in self.optional)


def place_edge_labels(st: LayoutState, cv: Canvas) -> list[int]:
    """Every edge label beside its own line, or a tag `(n)` there and the label listed under the
    picture; returns the merged edges listed, in order.

    Labels are placed one after the other, so where one goes decides where the next still fits:
    the placement is tried with straight drops' labels looked for from the top down and from the
    arrowhead up, and the one giving the shorter picture (lines plus listed labels; then fewer
    labels listed) is kept, or the first when its labels added no line at all."""
    base = ([r[:] for r in cv.rows], {y: set(c) for y, c in cv.labels.items()}, set(st.keep_rows))
    bare = len(cv.rows) - len(dead_rows(st, cv))     # the picture's lines with no label
    best: tuple[tuple[int, int], Any] | None = None
    stuck: Link | None = None       # a link whose tag found no room (not the exception: its
    # traceback holds this frame, and keeping it would leave cyclic garbage behind every render)
    for from_arrow in (False, True):
        cv.rows, cv.labels = [r[:] for r in base[0]], {y: set(c) for y, c in base[1].items()}
        st.keep_rows = set(base[2])
        st.layout.inline_labels, st.layout.tags = [], {}
        try:
            listed = _place_all(st, cv, from_arrow)
        except NoRoomForTag as e:
            stuck = e.link
            continue
        lines = len(cv.rows) - len(dead_rows(st, cv)) + (len(listed) + 2 if listed else 0)
        if best is None or (lines, len(listed)) < best[0]:
            state = (cv.rows, cv.labels, st.keep_rows, st.layout.inline_labels, st.layout.tags, listed)
            best = ((lines, len(listed)), state)
        if lines == bare:
            break
    if best is None:
        assert stuck is not None
        raise NoRoomForTag(stuck)
    cv.rows, cv.labels, st.keep_rows, st.layout.inline_labels, st.layout.tags, listed = best[1]
    return listed


def dead_rows(st: LayoutState, cv: Canvas) -> set[int]:
    """Track rows that hold only straight vertical runs (no turn, no label): the picture drops them."""
    g = st.glyphs
    plain = {_EMPTY, " ", g.v, g.av}
    dead = set()
    for cy, chh in st.channels:
        rows = [y for y in range(cy + 1, cy + chh - 1)
                if y not in st.keep_rows and (y >= len(cv.rows) or plain.issuperset(cv.rows[y]))]
        dead.update(rows)
        # the channel's first row too, when another row keeps every line's style visible
        if chh - 2 > len(rows) and cy not in st.keep_rows and plain.issuperset(cv.rows[cy]):
            dead.add(cy)
    return dead


_Tries = list[tuple[int, int, int]]


def _place_all(st: LayoutState, cv: Canvas, from_arrow: bool) -> list[int]:
    """Every label on its own track row (routing kept room there) or beside a straight drop on a
    row kept anyway, else into a sideways run of its edge; then a tag for each that did not fit;
    then each tag still gets swapped for its full label when one fits beside the line elsewhere
    in the channel.  Returns the merged edges listed under the picture, in order."""
    cost = _RowCost(st, cv)
    pending = _first_pass(st, cv, cost, from_arrow)
    pending.sort(key=lambda p: p[0].edge)
    tagged = [(lk, tries, _place_label(cv, tries, "(nn)", st.width, cost)) for lk, tries in pending]
    listed = []
    for lk, tries, spots in tagged:
        if spots:
            _erase(cv, spots)
        if placed := _place_label(cv, tries, st.edges[lk.edge].label, st.width, cost):
            cost.keep(placed)
            st.layout.inline_labels.append(lk.edge)
        elif spots:
            _put_label(cv, *spots[0][:3])
            cost.keep(spots[:1])
            listed.append((lk, spots[0]))
        else:
            listed.append((lk, _on_line_spot(st, cv, lk, tries)))
    _number_tags(st, cv, listed)
    return [lk.edge for lk, _ in listed]


def _first_pass(st: LayoutState, cv: Canvas, cost: _RowCost, from_arrow: bool) -> list[tuple[Link, _Tries]]:
    """Labels where they add no line: a turning link's own track row, a straight drop's rows the
    picture keeps, else a sideways run of its edge (its own run first); the links left."""
    runs: dict[int, list[tuple[Link, tuple[int, int]]]] = {}    # edge -> its sideways runs
    for i in range(len(st.rows) - 1):
        for lk in st.links_by_row[i]:
            if lk.track is not None:
                runs.setdefault(lk.edge, []).append((lk, st.channels[i]))
    pending: list[tuple[Link, _Tries]] = []
    for i in range(len(st.rows) - 1):
        for lk in st.links_by_row[i]:
            if not lk.labelled:
                continue
            tries = _tries(st, lk, st.channels[i], from_arrow)
            first = (tries[:2], 2) if lk.track is not None else (tries, 0)
            label = st.edges[lk.edge].label
            if spots := _place_label(cv, first[0], label, st.width, cost, first[1]):
                cost.keep(spots)
            elif not any(_place_on_run(st, cv, o, ch, label)
                         for o, ch in sorted(runs.get(lk.edge, []), key=lambda r: r[0] is not lk)):
                pending.append((lk, tries))
                continue
            st.layout.inline_labels.append(lk.edge)
    return pending


def _number_tags(st: LayoutState, cv: Canvas, listed: list[tuple[Link, tuple[int, int, str, int]]]) -> None:
    """Number the tags left in the order they are listed, each one blank from its line (or, where
    lines run too close for that, a single digit written on the line itself: numbered first)."""
    listed.sort(key=lambda p: p[1][3] != 0)
    for n, (lk, spot) in enumerate(listed, 1):
        y, x0, room, side = spot
        if side == 0:
            if n > len(_ON_LINE):
                raise NoRoomForTag(lk)
            cv.rows[y][x0] = _ON_LINE[n - 1]
            st.layout.tags[lk.edge] = f"({_ON_LINE[n - 1]})"
            continue
        _erase(cv, [spot])
        tag = f"({n})"
        _put_label(cv, y, x0 if side > 0 else x0 + dw(room) - len(tag), tag)
        st.layout.tags[lk.edge] = tag


class NoRoomForTag(Exception):
    """A tag found no room beside its line, nor on it (the caller draws the list form instead)."""

    def __init__(self, link: Link):
        super().__init__("no room for a tag")
        self.link = link
