"""Order within rows (fewest crossings) and x placement."""
from __future__ import annotations

import bisect

from .layout import Item, _gaps


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


def _by_above(it: Item):
    """Barycenter sort key from the row above (items without links keep their place; one
    neighbour, the common case, is its own mean)."""
    nb = it.above
    if len(nb) == 1:
        return nb[0].pos, it.pos
    return (sum(o.pos for o in nb) / len(nb) if nb else it.pos), it.pos


def _by_below(it: Item):
    nb = it.below
    if len(nb) == 1:
        return nb[0].pos, it.pos
    return (sum(o.pos for o in nb) / len(nb) if nb else it.pos), it.pos


def _setpos(rows) -> None:
    for row in rows:
        for p, it in enumerate(row):
            it.pos = p


def _sweep(rows, down: bool) -> bool:
    """Each row sorted by the barycentres of its neighbours above (down=True) or below; whether
    any row changed order."""
    rng, key = (range(1, len(rows)), _by_above) if down else (range(len(rows) - 2, -1, -1), _by_below)
    moved = False
    for i in rng:
        row = rows[i]
        before = row[:]
        row.sort(key=key)
        if row != before:
            moved = True
            for p, it in enumerate(row):
                it.pos = p
    return moved


class _Best:
    """The order with the fewest crossings seen so far (the first one, on ties)."""

    def __init__(self, rows, channels):
        self.rows, self.channels = rows, channels
        self.crossings = _crossings(channels)
        self.order = [list(r) for r in rows]

    def offer(self) -> None:
        c = _crossings(self.channels)
        if c < self.crossings:
            self.crossings, self.order = c, [list(r) for r in self.rows]


def _order(rows) -> None:
    """Row orders with few crossings: barycentre sweeps down and up; then, while crossings are
    left, rounds that swap neighbours (one pass that also takes swaps costing nothing, to leave a
    plateau the sweeps cannot, then only swaps that help) and sweep again.  The first order with
    the fewest crossings is kept."""
    channels = [[(it, o) for it in row for o in it.below] for row in rows]
    _setpos(rows)
    best = _Best(rows, channels)
    for _ in range(4):
        moved = False
        for down in (True, False):
            if _sweep(rows, down):
                moved = True
                best.offer()
        if not moved:
            break               # a fixed point: further sweeps would change nothing either
    for _ in range(4):
        if not best.crossings:
            break
        rows[:] = [list(r) for r in best.order]
        _setpos(rows)
        if not _transpose(rows, equal_ok=True):
            break
        while _transpose(rows, equal_ok=False):
            pass
        best.offer()
        for down in (True, False):
            if _sweep(rows, down):
                best.offer()
    rows[:] = best.order
    _setpos(rows)
    _group_blocks(rows, channels, best.crossings)


def _group_blocks(rows, channels, best: int) -> None:
    """Boxes of one group side by side, where that costs no extra crossings."""
    for row in rows:
        if len({it.group for it in row if it.group}) == 0:
            continue
        blocks: list[list[Item]] = []
        where: dict[str, list[Item]] = {}
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
        _setpos(rows)
        if _crossings(channels) > best:
            row[:] = old
            _setpos(rows)


def _pair_crossings(u: Item, v: Item) -> int:
    """Crossings between the lines of two neighbours in a row, u left of v (both channels)."""
    n = 0
    for mine, theirs in ((u.above, v.above), (u.below, v.below)):
        for p in mine:
            for q in theirs:
                if p.pos > q.pos:
                    n += 1
    return n


def _transpose(rows, equal_ok: bool) -> bool:
    """One pass swapping neighbours in each row where that lowers (or, with equal_ok, does not
    raise while they cross) the crossings of their lines; whether any swap was made."""
    swapped = False
    for row in rows:
        for j in range(len(row) - 1):
            a, b = row[j], row[j + 1]
            before = _pair_crossings(a, b)
            if not before:
                continue
            after = _pair_crossings(b, a)
            if after < before or (equal_ok and after == before):
                row[j], row[j + 1] = b, a
                a.pos, b.pos = j + 1, j
                swapped = True
    return swapped


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
        x = max(x, 0)
        x = min(x, canvas - w)
        xs.append(x)
    for j in range(1, len(row)):
        lo = xs[j - 1] + ws[j - 1] + gaps[j]
        xs[j] = max(xs[j], lo)
    xs[-1] = min(xs[-1], canvas - ws[-1])
    for j in range(len(row) - 2, -1, -1):
        hi = xs[j + 1] - gaps[j + 1] - ws[j]
        xs[j] = min(xs[j], hi)
    for it, x in zip(row, xs):
        it.x = x


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

