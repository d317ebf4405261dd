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

    out.append(_legend(graph, marked))
    out.append("}")
    return "\n".join(out) + "\n"


_LEGEND_PER_ROW = 5


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _legend(graph: Graph, marked: set[str]) -> str:
    """One compact legend node under the picture: a coloured cell per kind used, then the marks and
    line styles used, a few per row."""
    cells = []
    for k in NodeKind:
        if any(n.kind is k for n in graph.nodes):
            fill = _SHAPE[k]["fillcolor"]
            cells.append(f'<td bgcolor="{fill}" border="1" style="rounded">{_html(KIND_HELP[k])}</td>')
    if any(n.bottleneck for n in graph.nodes):
        cells.append('<td border="1" color="#d93025"><font color="#d93025">! bottleneck</font></td>')
    if any(n.scaling for n in graph.nodes):
        cells.append("<td>(xN) scaling point</td>")
    if marked:
        cells.append('<td bgcolor="#fff59d" border="1">* new / changed</td>')
    styles = {e.style for e in graph.edges}
    if "sync" in styles:
        cells.append("<td>&#8594; sync call</td>")
    if "async" in styles:
        cells.append("<td>- - &#8594; async message</td>")
    rows = ["<tr>" + "".join(cells[i:i + _LEGEND_PER_ROW]) + "</tr>" for i in range(0, len(cells), _LEGEND_PER_ROW)]
    table = ('<table border="0" cellborder="0" cellspacing="3" cellpadding="3">' + "".join(rows) + "</table>")
    return (f'  legend [shape=plain, fontsize=9, label=<{table}>];\n'
            "  { rank=sink; legend; }")


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
