"""PNG rendering through Graphviz `dot` (optional: None when `dot` is not installed)."""
from __future__ import annotations

import logging
import shutil
import subprocess

from .model import KIND_HELP, Graph, NodeKind, check_graph, diff_graphs

log = logging.getLogger(__name__)

DOT_TIMEOUT_S = 20.0

_SHAPE: dict[NodeKind, dict[str, str]] = {
    NodeKind.client: {"shape": "ellipse", "fillcolor": "#e8f0fe"},
    NodeKind.service: {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    NodeKind.gateway: {"shape": "hexagon", "fillcolor": "#fef7e0"},
    NodeKind.cache: {"shape": "box3d", "fillcolor": "#fce8e6"},
    NodeKind.database: {"shape": "cylinder", "fillcolor": "#e6f4ea"},
    NodeKind.queue: {"shape": "cds", "fillcolor": "#f3e8fd"},
    NodeKind.storage: {"shape": "folder", "fillcolor": "#e0f7fa"},
    NodeKind.external: {"shape": "box", "style": "dashed,filled", "fillcolor": "#f1f3f4"},
    NodeKind.worker: {"shape": "component", "fillcolor": "#fff3e0"},
}


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(d: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={_q(v)}" for k, v in d.items()) + "]"


def _node_attrs(kind: NodeKind, label: str, *, bottleneck=False, marked=False) -> dict[str, str]:
    a = {"label": label, "style": "filled"}
    a.update(_SHAPE[kind])
    if bottleneck:
        a.update(color="#d93025", penwidth="2.5", fontcolor="#d93025")
    if marked:
        a["fillcolor"] = "#fff59d"
    return a


def to_dot(graph: Graph, *, previous: Graph | None = None) -> str:
    """Graphviz source: shapes per kind, clusters per group, and a legend cluster."""
    check_graph(graph)
    marked = diff_graphs(previous, graph).marked_nodes if previous is not None else set()
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    out = [
        "digraph G {",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=14, nodesep=0.4, ranksep=0.55, pad=0.3'
        + (f", label={_q(graph.title)}, labelloc=t" if graph.title else "") + "];",
        '  node [fontname="Helvetica", fontsize=12, margin="0.15,0.06"];',
        '  edge [fontname="Helvetica", fontsize=10, color="#444444"];',
    ]
    groups: dict[str, list] = {}
    for n in graph.nodes:
        groups.setdefault(n.group or "", []).append(n)

    def node_line(n) -> str:
        label = ("* " if n.id in marked else "") + n.label
        if n.bottleneck:
            label += " !"
        if n.scaling:
            label += " (xN)"
        return f"  {ids[n.id]} {_attrs(_node_attrs(n.kind, label, bottleneck=n.bottleneck, marked=n.id in marked))};"

    for gi, (g, members) in enumerate(groups.items()):
        if g:
            out.append(f"  subgraph cluster_g{gi} {{")
            out.append(f'    label={_q(g)}; style="rounded,dashed"; color="#9aa0a6"; fontsize=11;')
            out += ["  " + node_line(n) for n in members]
            out.append("  }")
        else:
            out += [node_line(n) for n in members]
    for e in graph.edges:
        a = {}
        if e.label:
            a["label"] = " " + e.label + " "
        if e.style == "async":
            a["style"] = "dashed"
        out.append(f"  {ids[e.source]} -> {ids[e.target]} {_attrs(a) if a else ''};")

    # legend: one sample per symbol actually used
    used_kinds = [k for k in NodeKind if any(n.kind is k for n in graph.nodes)]
    out.append("  subgraph cluster_legend {")
    out.append('    label="Legend"; style="rounded"; color="#bdc1c6"; fontsize=11;')
    legend_ids = []
    for i, k in enumerate(used_kinds):
        lid = f"lg_k{i}"
        legend_ids.append(lid)
        out.append(f"    {lid} {_attrs(_node_attrs(k, KIND_HELP[k]) | {'fontsize': '10'})};")
    extras = []
    if any(n.bottleneck for n in graph.nodes):
        extras.append(("lg_b", _node_attrs(NodeKind.service, "! bottleneck", bottleneck=True)))
    if any(n.scaling for n in graph.nodes):
        extras.append(("lg_s", _node_attrs(NodeKind.service, "(xN) scaling point")))
    if marked:
        extras.append(("lg_m", _node_attrs(NodeKind.service, "* new / changed", marked=True)))
    for lid, a in extras:
        legend_ids.append(lid)
        out.append(f"    {lid} {_attrs(a | {'fontsize': '10'})};")
    styles = {e.style for e in graph.edges}
    rows: list[list[str]] = [legend_ids[i:i + 3] for i in range(0, len(legend_ids), 3)]
    arrows = []
    for st in ("sync", "async"):
        if st in styles:
            a, b = f"lg_{st}_a", f"lg_{st}_b"
            text = "sync call" if st == "sync" else "async message / event"
            out.append(f'    {a} [shape=plaintext, label={_q(text)}, fontsize=10]; {b} [shape=point, width=0.06];')
            out.append(f"    {a} -> {b} [minlen=2{', style=dashed' if st == 'async' else ''}];")
            arrows += [a, b]
    if arrows:
        rows.append(arrows)
    for row in rows:
        out.append("    { rank=same; " + " ".join(row) + " }")
    for r1, r2 in zip(rows, rows[1:]):
        out.append(f"    {r1[0]} -> {r2[0]} [style=invis];")
    out.append("  }")
    # keep the legend under the diagram
    if rows:
        has_out = {e.source for e in graph.edges}
        for n in graph.nodes:
            if n.id not in has_out:
                out.append(f"  {ids[n.id]} -> {rows[0][0]} [style=invis, weight=0];")
    out.append("}")
    return "\n".join(out) + "\n"


def render_png(graph: Graph, *, previous: Graph | None = None) -> bytes | None:
    """PNG bytes from Graphviz `dot`, or None (with one log line) when dot is missing or fails."""
    dot = shutil.which("dot")
    if not dot:
        log.info("graphviz 'dot' not found; skipping PNG diagram")
        return None
    src = to_dot(graph, previous=previous)
    try:
        proc = subprocess.run([dot, "-Tpng", "-Gdpi=110"], input=src.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("graphviz 'dot' failed to run: %s", e)
        return None
    if proc.returncode != 0 or not proc.stdout.startswith(b"\x89PNG"):
        log.warning("graphviz 'dot' failed (exit %s): %s", proc.returncode,
                    proc.stderr.decode("utf-8", "replace").strip()[:300])
        return None
    return proc.stdout
