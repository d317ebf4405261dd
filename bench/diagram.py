"""Diagram render times for a 20-node graph: text (unicode and ascii, 60 and 42 columns) and PNG.

    .venv/bin/python bench/diagram.py [--runs 200] [--png-runs 20]

Targets: text p99 < 20 ms; PNG p99 < 500 ms (skipped when Graphviz `dot` is absent).
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.diagram import Edge, Graph, Node, NodeKind, render_png, render_text  # noqa: E402

LABELS = ["Web App", "Mobile App", "API Gateway", "Auth Service", "User Service", "Feed Service",
          "Post Service", "Media Service", "Search API", "Notify Service", "Redis Cache", "Users DB",
          "Posts DB", "Search Index", "Event Stream", "Fan-out Worker", "Media Store", "Email Provider",
          "Thumbnailer", "Analytics Job"]
KINDS = [NodeKind.client, NodeKind.client, NodeKind.gateway, NodeKind.service, NodeKind.service,
         NodeKind.service, NodeKind.service, NodeKind.service, NodeKind.service, NodeKind.service,
         NodeKind.cache, NodeKind.database, NodeKind.database, NodeKind.database, NodeKind.queue,
         NodeKind.worker, NodeKind.storage, NodeKind.external, NodeKind.worker, NodeKind.worker]


def graph20() -> Graph:
    """A realistic 20-node design: two clients, a gateway fanning out, stores, a stream and workers."""
    nodes = [Node(id=f"n{i}", label=lab, kind=k, bottleneck=i in (2, 14), scaling=i in (5, 15))
             for i, (lab, k) in enumerate(zip(LABELS, KINDS))]
    e = [(0, 2, "HTTPS"), (1, 2, "HTTPS"), (2, 3, "auth"), (2, 4, "GET /me"), (2, 5, "GET /feed"),
         (2, 6, "POST /posts"), (2, 7, "upload"), (2, 8, "search"), (3, 11, "check"), (4, 11, "read"),
         (4, 10, "cache"), (5, 10, "feed ids"), (6, 12, "insert"), (6, 14, "post event"), (14, 15, "consume"),
         (15, 10, "push ids"), (7, 16, "PUT blob"), (7, 14, "media event"), (14, 18, "resize"),
         (18, 16, "thumbs"), (8, 13, "query"), (14, 19, "events"), (9, 17, "send"), (14, 9, "notify"),
         (15, 14, "retry")]
    rnd = random.Random(7)
    edges = [Edge(source=f"n{a}", target=f"n{b}", label=lab,
                  style="async" if (a == 14 or b == 14) else rnd.choice(["sync", "sync"]))
             for a, b, lab in e]
    return Graph(title="Social app", nodes=nodes, edges=edges)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed(fn, runs: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--png-runs", type=int, default=20)
    args = ap.parse_args()
    g = graph20()
    print(f"graph: {len(g.nodes)} nodes, {len(g.edges)} edges")
    ok = True
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
