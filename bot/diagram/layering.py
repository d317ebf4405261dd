"""Layers: cycles broken, nodes layered top to bottom, rows fitted into the width."""
from __future__ import annotations

from .labels import _longest_word, _wrap_box
from .layout import (
    _CONTENT_MAX,
    _CONTENT_MIN,
    _DUMMY_COST,
    _GAP_BOX,
    Item,
    LayoutState,
    Link,
    _release,
    _row_width,
)
from .model import NodeKind
from .ordering import _order
from .width import dw

# How high a kind sits: entry points on top, data stores low.  Cycles are broken by a search that
# starts from the highest kinds and follows edges towards the lower ones first, so the edge
# drawn flowing back up is one that returns towards an entry point, never one from it.
KIND_RANK: dict[NodeKind, int] = {
    NodeKind.client: 0, NodeKind.gateway: 1, NodeKind.service: 2, NodeKind.worker: 3, NodeKind.queue: 3,
    NodeKind.external: 4, NodeKind.cache: 4, NodeKind.database: 5, NodeKind.storage: 5,
}
_ENTRY = (NodeKind.client, NodeKind.gateway)


def _is_acyclic(ids: list[str], dag: list[tuple[str, str]]) -> bool:
    indeg = {i: 0 for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for u, v in dag:
        indeg[v] += 1
        succs[u].append(v)
    ready = [i for i in ids if indeg[i] == 0]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    return seen == len(ids)


def _break_cycles(st: LayoutState) -> list[bool]:
    """Reversed flag per edge so that the rest is acyclic: edges running back into a client or
    gateway from further down, then the search's back edges."""
    rev = _search_back_edges(st, into_entry=True)
    dag = [(e.target, e.source) if r else (e.source, e.target) for e, r in zip(st.edges, rev, strict=True)]
    return rev if _is_acyclic(st.ids, dag) else _search_back_edges(st, into_entry=False)


def _search_back_edges(st: LayoutState, *, into_entry: bool) -> list[bool]:
    ids, edges = st.ids, st.edges
    rank = {i: KIND_RANK[st.nodes[i].kind] for i in ids}
    index = {i: k for k, i in enumerate(ids)}
    out: dict[str, list[int]] = {i: [] for i in ids}
    for k, e in enumerate(edges):
        out[e.source].append(k)
    for i in ids:
        out[i].sort(key=lambda k: (rank[edges[k].target], index[edges[k].target]))
    state = {i: 0 for i in ids}   # 0 new, 1 on stack, 2 done
    rev = [False] * len(edges)
    has_in = {e.target for e in edges}
    for r in sorted(ids, key=lambda i: (rank[i], i in has_in, index[i])):
        if state[r]:
            continue
        stack = [(r, iter(out[r]))]
        state[r] = 1
        while stack:
            v, it = stack[-1]
            for k in it:
                w = edges[k].target
                if into_entry and st.nodes[w].kind in _ENTRY and rank[w] < rank[v]:
                    rev[k] = True       # e.g. a push back to the client: drawn flowing up to it
                elif state[w] == 1:
                    rev[k] = True
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(out[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return rev


def _layers(ids: list[str], dag: list[tuple[str, str]], keep_top: set[str]) -> dict[str, int]:
    """Longest-path layering of the DAG [(u, v)]; sources stay on top when in `keep_top`."""
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
        layer[v] = max([0] + [layer[u] + 1 for u in preds[v]])
    # pull pure sources down next to their first successor (shorter edges)
    for v in order:
        if not preds[v] and succs[v] and v not in keep_top:
            layer[v] = max(layer[v], min(layer[w] for w in succs[v]) - 1)
    return layer


def _size_box(it: Item, cw: int, breaks: bool = True) -> None:
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


def _fit_layers(st: LayoutState, layer: dict[str, int]) -> list[list[Item]] | None:
    """Rows that fit `width` for this layering (splitting rows as needed), or None."""
    skip = 0
    ordered = False   # row widths hardly depend on order: order only once the layering fits
    width = st.width
    for _attempt in range(8 * len(st.ids) + 8):
        rows = _build_rows(st, layer)
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
        est = _row_estimates(rows, st.minw)
        _release(rows)      # the next attempt builds its own rows
        if bump is None:
            return None
        moved, at = bump
        _move_down(st, layer, moved, at, est, len(rows))
    return None


def _move_down(st: LayoutState, layer: dict[str, int], moved: list[str], at: int, est: dict[int, int],
               nrows: int) -> None:
    """Move nodes out of row `at`: each to the first lower row with room that keeps it above
    its successors, else one row down with its successors pushed along."""
    dag, succ, npred, minw, width = st.dag, st.succ, st.npred, st.minw, st.width
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


def _prefit_layers(st: LayoutState) -> None:
    """Cheap first pass on estimated row widths, so the real fitting rarely needs to split rows."""
    ids, dag, layer, succ, npred, minw, width = st.ids, st.dag, st.layer, st.succ, st.npred, st.minw, st.width
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
        cands = sorted(boxes[bad][::-1], key=lambda v: (npred[v], len(succ[v])))  # noqa: C415 (ties: rightmost first)
        need, moved = est[bad], []
        for v in cands[:-1]:
            moved.append(v)
            need -= minw[v] + _GAP_BOX - npred[v] * _DUMMY_COST
            if need <= width:
                break
        _move_down(st, layer, moved, bad, est, nl)


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


def _build_rows(st: LayoutState, layer: dict[str, int]) -> list[list[Item]]:
    """Rows of items for the given layering (boxes, then pass-through dummies), linked along the edges."""
    ids, edges, dag, rev, texts, groups = st.ids, st.edges, st.dag, st.rev, st.texts, st.groups
    nl = max(layer.values()) + 1
    rows: list[list[Item]] = [[] for _ in range(nl)]
    items: dict[str, Item] = {}
    for i in sorted(ids, key=lambda v: layer[v]):
        it = Item(("n", i), node=i)
        it.text = texts[i]
        it.group = groups.get(i)
        items[i] = it
        rows[layer[i]].append(it)
    for k, (u, v) in enumerate(dag):
        chain = [items[u]]
        for L in range(layer[u] + 1, layer[v]):
            d = Item(("d", k, L), edge=k)
            rows[L].append(d)
            chain.append(d)
        chain.append(items[v])
        n = len(chain) - 1
        for j in range(n):
            lk = Link(chain[j], chain[j + 1], k, j == 0, j == n - 1, rev[k], edges[k].style)
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
        cands = sorted(boxes[::-1], key=lambda it: (len(it.ups), len(it.downs)))  # noqa: C415 (rightmost first)
        need = _row_width(row)
        moved = []
        for it in cands[:-1]:
            moved.append(it.node)
            need -= it.w + _GAP_BOX - len(it.ups) * _DUMMY_COST
            if need <= width:
                break
        return False, (moved, L)
    return True, None


def layer_rows(st: LayoutState) -> bool:
    """Layer the graph into rows of items that fit the width (st.rows); False if none fit."""
    ids = st.ids
    st.rev = _break_cycles(st)
    st.dag = [(e.target, e.source) if r else (e.source, e.target) for e, r in zip(st.edges, st.rev, strict=True)]
    st.layer = _layers(ids, st.dag, {i for i in ids if st.nodes[i].kind in _ENTRY})
    st.succ = {i: [] for i in ids}
    st.npred = {i: 0 for i in ids}
    for k, (u, v) in enumerate(st.dag):
        st.succ[u].append(k)
        st.npred[v] += 1
    # narrowest box each node can have without breaking words (labels wrapped, ports spaced)
    st.minw = {i: max(max([_CONTENT_MIN] + [dw(w) for w in st.texts[i].split()]) + 4,
                      2 * max(st.npred[i], len(st.succ[i])) + 3, 5) for i in ids}
    _prefit_layers(st)
    rows = _fit_layers(st, st.layer)
    if rows is None:
        # last resort before a plain listing: one box per row, in topological order
        topo = sorted(ids, key=lambda v: (st.layer[v], ids.index(v)))
        rows = _fit_layers(st, {v: i for i, v in enumerate(topo)})
    st.rows = rows or []
    return rows is not None
