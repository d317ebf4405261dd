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
        setpos()
        if _crossings(channels) > best:
            row[:] = old
            setpos()


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

