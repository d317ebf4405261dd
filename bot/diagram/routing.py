"""Ports on box borders and track rows in each channel between two rows of boxes; drawing the lines.

Crossing rule: ports are ordered by where the other end lies (at a box, the lines leave in the
left-to-right order of their targets and arrive in the order of their sources), so two lines
are in opposite column orders above and below exactly when the row order makes them cross.
Tracks are then ordered so each such pair crosses once and no other pair crosses: of two
overlapping lines running the same way, the one starting further along that way takes the
higher track.  Lines whose spans do not overlap share a track row.

Overlap rule: in each channel, ports that turn sideways leave boxes on even columns and enter
boxes on odd columns; straight drops own their column in both rows.  So an upper line and a
lower line never share a column, and two lines meet only at a perpendicular crossing.
"""
from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable

from .canvas import Canvas
from .layout import SPARE, Item, LayoutState, Link
from .width import dw

_LABEL_PAD = 2      # blank cells kept between a label and the next line or label
_TAG = 4            # "(nn)"


def _spread(cands: list[int], k: int) -> list[int]:
    m = len(cands)
    if k <= 0:
        return []
    return [cands[min(m - 1, int((i + 0.5) * m / k))] for i in range(k)]


def _span(it: Item) -> tuple[int, int]:
    """First and last column where a line may meet the item: inside a box's border, or either
    of a pass-through line's two columns."""
    if it.is_box:
        return it.x + 1, it.x + it.w - 2
    return it.x, it.x + 1


class _Side:
    """The ports of one item on one side of a channel: its links in their column order."""

    def __init__(self, it: Item, links: list[Link], parity: int):
        self.it = it
        self.links = links
        self.parity = parity          # column parity of a port that turns sideways
        self.first, self.last = _span(it)
        self.col: dict[int, int] = {}     # position in `links` -> column, for the ports fixed so far

    def free(self, lo: int, hi: int) -> list[int]:
        """Columns of the turning parity strictly between lo and hi, not taken."""
        taken = set(self.col.values())
        start = max(lo + 1, self.first)
        start += (start - self.parity) % 2
        return [c for c in range(start, min(hi, self.last + 1), 2) if c not in taken]

    def can_fix(self, k: int, c: int) -> bool:
        """Can link k take column c (a straight drop) with every other link still in order?"""
        fixed = dict(self.col)
        fixed[k] = c
        cols = [fixed.get(j) for j in range(len(self.links))]
        known = [(j, col) for j, col in enumerate(cols) if col is not None]
        if any(a[1] >= b[1] for a, b in itertools.pairwise(known)):
            return False
        bounds = [(-1, self.first - 1)] + known + [(len(self.links), self.last + 1)]
        taken = set(fixed.values())
        for (j0, c0), (j1, c1) in itertools.pairwise(bounds):
            need = j1 - j0 - 1
            if need > 0:
                start = c0 + 1 + (c0 + 1 - self.parity) % 2
                if sum(1 for col in range(start, c1, 2) if col not in taken) < need:
                    return False
        return True

    def fill(self) -> None:
        """Columns for the links not fixed yet, in order, spread over the free room between fixed ones."""
        j = 0
        n = len(self.links)
        while j < n:
            if j in self.col:
                j += 1
                continue
            j1 = j
            while j1 < n and j1 not in self.col:
                j1 += 1
            lo = self.col[j - 1] if j > 0 else self.first - 1
            hi = self.col[j1] if j1 < n else self.last + 1
            cols = self.free(lo, hi)
            roomy = [c for c in cols if c - 1 not in self.col.values() and c + 1 not in self.col.values()]
            picks = _spread(roomy if len(roomy) >= j1 - j else cols, j1 - j)
            for k, c in zip(range(j, j1), picks, strict=True):
                self.col[k] = c
            j = j1


def assign_ports(upper: list[Item], lower: list[Item], links: list[Link]) -> None:
    """Columns where each link leaves the upper row (lk.s) and enters the lower row (lk.t)."""
    ups = {id(it): _Side(it, sorted(it.downs, key=lambda lk: (lk.low.pos, lk.edge)), 0) for it in upper}
    lows = {id(it): _Side(it, sorted(it.ups, key=lambda lk: (lk.up.pos, lk.edge)), 1) for it in lower}
    # straight drops first, the best-aligned links first, where the order at both ends allows it
    for lk in sorted(links, key=lambda lk: (abs(lk.up.center - lk.low.center), lk.edge)):
        u, lo = ups[id(lk.up)], lows[id(lk.low)]
        a, b = max(u.first, lo.first), min(u.last, lo.last)
        if a > b:
            continue
        mid = (lk.up.center + lk.low.center) / 2
        ku = u.links.index(lk)
        kl = lo.links.index(lk)
        # between the columns already fixed for the links before and after it, at both ends
        a = max([a] + [c + 1 for k, c in u.col.items() if k < ku] + [c + 1 for k, c in lo.col.items() if k < kl])
        b = min([b] + [c - 1 for k, c in u.col.items() if k > ku] + [c - 1 for k, c in lo.col.items() if k > kl])
        if a > b:
            continue
        taken = set(u.col.values()) | set(lo.col.values())
        # a pass-through line goes on in the column it came in by (no staircase)
        keep = lk.up.in_port if not lk.up.is_box else None
        for c in sorted(range(a, b + 1),
                        key=lambda c: (c != keep, c - 1 in taken or c + 1 in taken, abs(c - mid), c)):
            if c in u.col.values() or c in lo.col.values():
                continue
            if u.can_fix(ku, c) and lo.can_fix(kl, c):
                u.col[ku] = c
                lo.col[kl] = c
                break
    for side in ups.values():
        side.fill()
        for k, lk in enumerate(side.links):
            lk.s = side.col[k]
    for side in lows.values():
        # arrivals follow the departure columns (same source item: its own column order)
        order = sorted(range(len(side.links)), key=lambda k: (side.links[k].up.pos, side.links[k].s))
        if order != list(range(len(side.links))):
            side.links = [side.links[k] for k in order]
            side.col = {order.index(k): c for k, c in side.col.items()}
        side.fill()
        for k, lk in enumerate(side.links):
            lk.t = side.col[k]
    for lk in links:
        if not lk.up.is_box:
            lk.up.out_port = lk.s
        if not lk.low.is_box:
            lk.low.in_port = lk.t


def _reach(lk: Link, labels: dict[int, str], width: int, drops: list[int]) -> tuple[int, int]:
    """Columns a link's track row holds: its sideways run, and its label's room beside the lower
    line, where the label fits before the nearest straight drop (`drops`: their columns, sorted)
    on that side; elsewhere the label goes to another row, and holding room for it would only
    push this run onto a track of its own."""
    lo, hi = min(lk.s, lk.t), max(lk.s, lk.t)
    if lk.labelled:
        # room for the label on the side of the lower line away from the run (straight: either
        # side), or at least for its tag "(nn)"
        n = dw(labels[lk.edge])
        sides: tuple[int, ...] = (1, -1) if lk.t >= lk.s else (-1, 1)
        if lk.t != lk.s:
            sides = sides[:1]
        at = bisect.bisect_left(drops, lk.t)
        right = min(width, drops[at] if at < len(drops) else width)
        left = drops[at - 1] if at > 0 else -1
        for size in (n, _TAG):
            fits = [s for s in sides if (lk.t + 2 + size + _LABEL_PAD <= right if s > 0
                                         else lk.t - 1 - size - _LABEL_PAD > left)]
            if fits:
                if fits[0] > 0:
                    hi = max(hi, lk.t + 1 + size + _LABEL_PAD)
                else:
                    lo = min(lo, lk.t - 1 - size - _LABEL_PAD)
                break
    return lo - 1, hi + 1


def assign_tracks(links: list[Link], labels: dict[int, str], width: int) -> int:
    """Track rows for the links that move sideways; the number of rows used.

    A labelled link's track row also holds room for its label beside its lower line, unless that
    room costs a track row more than the runs alone need: then the label finds a place on
    another row (most often one the picture keeps anyway, such as the arrowheads' row)."""
    for lk in links:
        lk.labelled = bool(labels[lk.edge]) and ((lk.last and not lk.rev) or (lk.first and lk.rev))
    drops = sorted(lk.s for lk in links if lk.s == lk.t)
    bare = _stack_runs(links, lambda lk: (min(lk.s, lk.t) - 1, max(lk.s, lk.t) + 1))
    with_labels = _stack_runs(links, lambda lk: _reach(lk, labels, width, drops))
    if with_labels > bare:
        _stack_runs(links, lambda lk: (min(lk.s, lk.t) - 1, max(lk.s, lk.t) + 1))
    for lk in links:
        if lk.track is None and lk.s != lk.t:
            raise AssertionError("a sideways link without a track")
    return min(bare, with_labels)


def _stack_runs(links: list[Link], reach: Callable[[Link], tuple[int, int]]) -> int:
    """Sets each sideways link's track (the columns `reach` gives it held on that row); the rows used.

    Of two overlapping lines running the same way, the one starting further along that way
    takes the higher track (no crossing between them); lines that do not overlap share a row."""
    right = sorted((lk for lk in links if lk.t > lk.s), key=lambda lk: -lk.s)
    left = sorted((lk for lk in links if lk.t < lk.s), key=lambda lk: lk.s)
    rows: list[list[tuple[int, int]]] = []
    for group in (right, left):
        placed: list[Link] = []
        for lk in group:
            lo, hi = reach(lk)
            # below every earlier link of its group it overlaps, on the first row from there where its run fits
            floor = max((o.track + 1 for o in placed
                         if min(o.s, o.t) < max(lk.s, lk.t) and min(lk.s, lk.t) < max(o.s, o.t)), default=0)
            k = floor
            while k < len(rows) and any(a <= hi and lo <= b for a, b in rows[k]):
                k += 1
            if k == len(rows):
                rows.append([])
            rows[k].append((lo, hi))
            lk.track = k
            placed.append(lk)
    return len(rows)


def plan_channels(st: LayoutState) -> None:
    """Ports and tracks of every channel (lines between two rows of boxes); then their rows."""
    rows = st.rows
    st.links_by_row = [[lk for it in row for lk in it.downs] for row in rows]
    for links in st.links_by_row:
        for lk in links:
            lk.track = None
    label_of = {k: e.label for k, e in enumerate(st.edges)}
    st.ntracks = []
    for i in range(len(rows) - 1):
        assign_ports(rows[i], rows[i + 1], st.links_by_row[i])
        st.ntracks.append(assign_tracks(st.links_by_row[i], label_of, st.width))
    stack_rows(st)


def stack_rows(st: LayoutState) -> None:
    """The rows of every band (boxes) and channel (its tracks, plus SPARE blank rows at both ends)."""
    st.band_top, st.band_h, st.channels = [], [], []
    y = 0
    last = len(st.rows) - 1
    for i, row in enumerate(st.rows):
        h = max([it.h for it in row if it.is_box] + [3])
        st.band_top.append(y)
        st.band_h.append(h)
        for it in row:
            it.y = y
        y += h
        if i < last:
            ch = st.ntracks[i] + 2 + 2 * SPARE
            st.channels.append((y, ch))
            y += ch
    st.height = y


def draw_lines(st: LayoutState, cv: Canvas) -> None:
    """Pass-through lines through their bands, and every link through its channel."""
    g, edges = st.glyphs, st.edges
    for i, row in enumerate(st.rows):
        for it in row:
            if it.is_box:
                continue
            top, bot = st.band_top[i], st.band_top[i] + st.band_h[i] - 1
            a, b = it.in_port, it.out_port
            style = edges[it.edge].style
            if a == b:
                cv.vline(a, top, bot, style)
            else:
                cv.vline(a, top, top, style)
                cv.turn(top + 1, a, b, style)
                cv.vline(b, top + 2, bot, style)
    for i in range(len(st.rows) - 1):
        cy, chh = st.channels[i]
        for lk in st.links_by_row[i]:
            up, low = lk.up, lk.low
            y0 = up.y + up.h if up.is_box else cy
            y1 = cy + chh - 1
            if lk.track is None:
                cv.vline(lk.s, y0, y1, lk.style)
            else:
                # down to its track row, along it, down to the lower box
                tr = cy + 1 + SPARE + lk.track
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
