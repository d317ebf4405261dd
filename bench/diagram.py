"""Diagram quality and speed: per golden design, crossings and height at 60 and 42 columns next to
Graphviz's crossings for the same graph, then render times.

    .venv/bin/python bench/diagram.py [--runs 200] [--png-runs 20]

Targets on the realistic designs: 0 crossings added to what the row order forces and at 60 columns
no more than Graphviz draws, <= 45 lines at 60 columns, text render p99 < 20 ms (also for a 20-node
graph); PNG p99 < 500 ms.  Graphviz columns are skipped when `dot` is not installed.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.diagram import Edge, Graph, Node, NodeKind, parse_graph, render_png, render_text
from bot.diagram.text import render_text_layout
from tests.test_diagram_golden import DESIGNS, GOLDEN
from tests.test_diagram_support import graphviz_crossings

LABELS = ["Web App", "Mobile App", "API Gateway", "Auth Service", "User Service", "Feed Service",
          "Post Service", "Media Service", "Search API", "Notify Service", "Redis Cache", "Users DB",
          "Posts DB", "Search Index", "Event Stream", "Fan-out Worker", "Media Store", "Email Provider",
          "Thumbnailer", "Analytics Job"]
KINDS = [NodeKind.client, NodeKind.client, NodeKind.gateway, NodeKind.service, NodeKind.service,
         NodeKind.service, NodeKind.service, NodeKind.service, NodeKind.service, NodeKind.service,
         NodeKind.cache, NodeKind.database, NodeKind.database, NodeKind.database, NodeKind.queue,
         NodeKind.worker, NodeKind.storage, NodeKind.external, NodeKind.worker, NodeKind.worker]
NO_BUDGET: dict[str, Any] = {"max_crossings": 10**6, "max_height": 10**6}


def graph20() -> Graph:
    """A realistic 20-node design: two clients, a gateway fanning out, stores, a stream and workers."""
    nodes = [Node(id=f"n{i}", label=lab, kind=k, bottleneck=i in (2, 14), scaling=i in (5, 15))
             for i, (lab, k) in enumerate(zip(LABELS, KINDS, strict=True))]
    e = [(0, 2, "HTTPS"), (1, 2, "HTTPS"), (2, 3, "auth"), (2, 4, "GET /me"), (2, 5, "GET /feed"),
         (2, 6, "POST /posts"), (2, 7, "upload"), (2, 8, "search"), (3, 11, "check"), (4, 11, "read"),
         (4, 10, "cache"), (5, 10, "feed ids"), (6, 12, "insert"), (6, 14, "post event"), (14, 15, "consume"),
         (15, 10, "push ids"), (7, 16, "PUT blob"), (7, 14, "media event"), (14, 18, "resize"),
         (18, 16, "thumbs"), (8, 13, "query"), (14, 19, "events"), (9, 17, "send"), (14, 9, "notify"),
         (15, 14, "retry")]
    edges = [Edge(source=f"n{a}", target=f"n{b}", label=lab, style="async" if 14 in (a, b) else "sync")
             for a, b, lab in e]
    return Graph(title="Social app", nodes=nodes, edges=edges)


def dense40() -> Graph:
    """A valid 20-node, 40-edge graph (random, seeded): should fall back to the list form."""
    rnd = random.Random(11)
    pairs = rnd.sample([(i, j) for i in range(20) for j in range(20) if i != j], 40)
    nodes = [Node(id=f"n{i}", label=LABELS[i], kind=KINDS[i]) for i in range(20)]
    return Graph(title="Dense", nodes=nodes, edges=[Edge(source=f"n{a}", target=f"n{b}") for a, b in pairs])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def timed(fn, runs: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def quality_table(runs: int) -> bool:
    ok = True
    print(f"{'design':22s} {'nodes':>5s} {'edges':>5s} | {'60: cross (forced) lines':>24s} | "
          f"{'42: cross (forced) lines':>24s} | {'graphviz':>8s} | {'p50 ms':>6s} {'p99 ms':>6s}")
    all_ms: list[float] = []
    for name in DESIGNS:
        g = parse_graph((GOLDEN / f"{name}.json").read_text())
        cols = []
        gv = graphviz_crossings(g)
        for width in (60, 42):
            _, lay = render_text_layout(g, width=width, **NO_BUDGET)
            cols.append(f"{lay.crossings:5d} ({lay.order_crossings:2d}) {lay.height:5d}")
            realistic = len(g.nodes) >= 10
            ok &= lay.crossings <= lay.order_crossings
            if width == 60 and realistic:
                ok &= lay.height <= 45 and (gv is None or lay.crossings <= gv)
        ms = timed(lambda g=g: render_text(g, width=60), runs)
        all_ms += ms
        print(f"{name:22s} {len(g.nodes):5d} {len(g.edges):5d} | {cols[0]:>24s} | {cols[1]:>24s} | "
              f"{'-' if gv is None else gv:>8} | {statistics.median(ms):6.2f} {pct(ms, 99):6.2f}")
    p99 = pct(all_ms, 99)
    ok &= p99 < 20
    print(f"all goldens, 60 columns: p99 {p99:.2f} ms (target < 20 ms); cross = drawn crossings, "
          "(forced) = crossings the row order forces, targets: drawn = forced, at 60 for 10+ nodes "
          "<= 45 lines and drawn <= graphviz")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--png-runs", type=int, default=20)
    args = ap.parse_args()
    ok = quality_table(max(10, args.runs // 4))
    dense = dense40()
    _out, lay = render_text_layout(dense, width=60)
    _, drawn = render_text_layout(dense, width=60, **NO_BUDGET)
    print(f"\n20 nodes / 40 edges (random): drawn {drawn.crossings} crossings, {drawn.height} lines -> "
          f"{'list form (' + lay.fallback.value + ')' if lay.fallback else 'picture'}, {lay.height} lines")
    g = graph20()
    print(f"\ngraph20: {len(g.nodes)} nodes, {len(g.edges)} edges")
    for width, ascii_only in ((60, False), (42, False), (42, True)):
        ms = timed(lambda w=width, a=ascii_only: render_text(g, width=w, ascii_only=a), args.runs)
        p50, p99 = statistics.median(ms), pct(ms, 99)
        ok &= p99 < 20
        mode = "ascii" if ascii_only else "unicode"
        print(f"text  width={width} {mode:7s}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
              f"max {max(ms):6.2f} ms  ({args.runs} runs, target p99 < 20 ms)")
    if args.png_runs <= 0:
        print("png: skipped (--png-runs 0)")
    elif shutil.which("dot"):
        ms = timed(lambda: render_png(g), args.png_runs)
        p50, p99 = statistics.median(ms), pct(ms, 99)
        ok &= p99 < 500
        print(f"png (graphviz dot)       : p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
              f"max {max(ms):6.1f} ms  ({args.png_runs} runs, target p99 < 500 ms)")
    else:
        print("png: skipped, graphviz 'dot' is not installed (apt-get install graphviz)")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
