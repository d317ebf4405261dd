"""The character canvas: box-drawing glyphs, line pieces per cell, boxes."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from .layout import Item
from .width import cells, dw, ljust


@dataclass(frozen=True)
class Glyphs:
    h: str
    v: str
    ah: str     # async horizontal
    av: str     # async vertical
    tl: str     # box corners
    tr: str
    bl: str
    br: str
    cross: str
    down: str
    up: str
    port_down: str   # bottom border where an edge leaves downward
    port_up: str     # top border where an edge leaves upward
    arrow: str       # used in text lists
    ltl: str = ""    # line corners (the box corners when empty)
    ltr: str = ""
    lbl: str = ""
    lbr: str = ""


UNICODE = Glyphs("─", "│", "┄", "┆", "┌", "┐", "└", "┘", "┼", "▼", "▲", "┬", "┴", "→")
# ASCII keeps boxes and lines apart: boxes have '+' corners and '+' where a line leaves them,
# lines turn at '.' (downwards) and "'" (coming from above); async lines are '~' and ':'.
ASCII = Glyphs("-", "|", "~", ":", "+", "+", "+", "+", "+", "v", "^", "+", "+", "->", ".", ".", "'", "'")


N, S, E, W = 1, 2, 4, 8
_CELL_KEY = 1 << 20     # canvas cell (y, x) is keyed y * _CELL_KEY + x (pictures are far narrower)
# A canvas cell nothing was drawn in (shown as a space).  A string, not None, so a row becomes
# text with C-level join/replace; NUL never gets drawn (_clean drops control characters).
_EMPTY = "\0"


# A line piece in a cell is an int: the directions the line leaves the cell in (N|S|E|W),
# plus the line's style class (ints, unlike tuples, cost the garbage collector nothing).
_SYNC, _ASYNC, _OTHER = 0, 16, 32     # style "sync", "async", anything else (drawn like sync)
_DIRS = 15


def _style_bits(style: str) -> int:
    return _SYNC if style == "sync" else _ASYNC if style == "async" else _OTHER


@functools.cache
def _line_glyphs(g: Glyphs) -> dict[int, str]:
    """Glyph of a cell crossed by one line, by its piece."""
    out = {}
    for bits in (_SYNC, _ASYNC, _OTHER):
        a = bits == _ASYNC
        out.update({(N | S) + bits: g.av if a else g.v, (E | W) + bits: g.ah if a else g.h,
                    (S | E) + bits: g.ltl or g.tl, (S | W) + bits: g.ltr or g.tr,
                    (N | E) + bits: g.lbl or g.bl, (N | W) + bits: g.lbr or g.br})
    return out


class Canvas:
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
        """Text from column x on, one cell per column (wide characters take two)."""
        rows = self.rows
        while len(rows) <= y:
            rows.append([])
        r = rows[y]
        cs = cells(text)
        end = x + len(cs)
        if len(r) < end:
            r.extend([_EMPTY] * (end - len(r)))
        r[x:end] = cs

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

    def resolve(self, g: Glyphs) -> None:
        """Draw every line cell not drawn yet (arrowheads and border ports win).

        Afterwards every line cell holds a character; the few that hold a space are kept in
        `open_conn`, so label placement can test blank cells on the rows alone."""
        single = _line_glyphs(g)
        rows = self.rows
        nrows = len(rows)
        more = self.more
        for key, piece in self.conn.items():
            y, x = divmod(key, _CELL_KEY)
            row: list[str] = rows[y] if y < nrows else []
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

    def conn_count(self, y: int, x: int) -> int:
        """How many line pieces pass through cell (y, x)."""
        key = y * _CELL_KEY + x
        return (key in self.conn) + len(self.more.get(key, ()))

    def crossings(self) -> int:
        """Cells where a vertical and a horizontal line cross."""
        n = 0
        for key, extra in self.more.items():
            dirs = [p & _DIRS for p in [self.conn[key], *extra]]
            if N | S in dirs and E | W in dirs:
                n += 1
        return n

    def text(self) -> list[str]:
        return ["".join(r).replace(_EMPTY, " ").rstrip() for r in self.rows]


def _draw_box(cv: Canvas, it: Item, g: Glyphs) -> None:
    x, y, w, h = it.x, it.y, it.w, it.h
    inner = w - 2
    cv.put_row(y, x, g.tl + g.h * inner + g.tr)
    content = it.lines + ("",) * (h - 2 - len(it.lines))
    for j, s in enumerate(content):
        left = (inner - dw(s)) // 2
        cv.put(y + 1 + j, x, g.v)
        cv.put_row(y + 1 + j, x + 1, ljust(" " * left + s, inner))
        cv.put(y + 1 + j, x + w - 1, g.v)
    cv.put_row(y + h - 1, x, g.bl + g.h * inner + g.br)
