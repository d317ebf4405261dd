"""PNG via Graphviz `dot` (skipped where dot is not installed) and the no-dot path."""
from __future__ import annotations

import json
import logging
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from bot.diagram import NodeKind, parse_graph, render_png, to_dot
from bot.diagram.model import KIND_HELP
from tests.test_diagram_golden import DESIGNS

GOLDEN = Path(__file__).parent / "golden" / "diagrams"


def graph(name="chat"):
    return parse_graph((GOLDEN / f"{name}.json").read_text())


def test_png_when_dot_installed():
    if not shutil.which("dot"):
        pytest.skip("graphviz 'dot' is not installed")
    png = render_png(graph())
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    w, h = struct.unpack(">II", png[16:24])
    assert w > 300 and h > 300


def test_png_marks_changes():
    if not shutil.which("dot"):
        pytest.skip("graphviz 'dot' is not installed")
    old = graph("url_shortener")
    new = graph("url_shortener").model_copy(deep=True)
    new.nodes[2].label = "URL API v2"
    assert render_png(new, previous=old).startswith(b"\x89PNG")


def test_no_dot_returns_none_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with caplog.at_level(logging.DEBUG):
        assert render_png(graph()) is None
    assert len([r for r in caplog.records if r.name.startswith("bot.diagram")]) == 1


def test_dot_failure_returns_none(monkeypatch, tmp_path, caplog):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: str(fake))
    assert render_png(graph()) is None
    assert "boom" in caplog.text


def test_dot_source_shapes_and_legend():
    src = to_dot(graph())
    assert 'shape="cylinder"' in src          # databases
    assert 'shape="cds"' in src               # queues
    assert "legend [shape=plain" in src and "rank=sink; legend;" in src
    legend = to_dot(graph("url_shortener")).split("legend [")[1]
    kinds = {n.kind for n in graph("url_shortener").nodes}
    assert all((KIND_HELP[k] in legend) == (k in kinds) for k in NodeKind)       # only the kinds used
    assert 'style="dashed"' in src            # async edges
    small = parse_graph({"nodes": [{"id": "a", "label": "A", "kind": "service"},
                                   {"id": "b", "label": "B", "kind": "database"}],
                         "edges": [{"source": "a", "target": "b"}]})
    s2 = to_dot(small)
    assert "cylinder" in s2 and "hexagon" not in s2 and "async" not in s2 and "bottleneck" not in s2


def test_dot_source_groups_become_clusters():
    g = parse_graph({"nodes": [{"id": "a", "label": "A", "kind": "service", "group": "Core"},
                               {"id": "b", "label": "B", "kind": "cache", "group": "Core"},
                               {"id": "c", "label": "C \"quoted\"", "kind": "queue"}],
                     "edges": [{"source": "a", "target": "b", "label": "get"},
                               {"source": "a", "target": "c", "style": "async"}]})
    src = to_dot(g)
    assert "subgraph cluster_g" in src and 'label="Core"' in src
    assert 'C \\"quoted\\"' in src


def _layout_boxes(g):
    """Graphviz's own layout (-Tjson): picture height, node boxes, edge-label boxes, legend box."""
    js = json.loads(subprocess.run(["dot", "-Tjson"], input=to_dot(g).encode(), capture_output=True,
                                   check=True, timeout=30).stdout)
    height = float(js["bb"].split(",")[3])
    nodes, labels, legend = [], [], None
    for o in js.get("objects", []):
        if "pos" not in o or "width" not in o:
            continue
        x, y = map(float, o["pos"].split(","))
        w, h = float(o["width"]) * 72, float(o["height"]) * 72
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        if o["name"] == "legend":
            legend = box
        else:
            nodes.append(box)
    for e in js.get("edges", []):
        for op in e.get("_ldraw_", []):
            if op["op"] == "T":
                x, y = op["pt"]
                w = op["width"]
                x0 = {"c": x - w / 2, "l": x, "r": x - w}[op["align"]]
                labels.append((x0, y - 3, x0 + w, y + 10))     # 10 pt font: baseline to cap height
    return height, nodes, labels, legend


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("name", DESIGNS)
def test_png_legend_is_compact_and_labels_do_not_collide(name):
    if not shutil.which("dot"):
        pytest.skip("graphviz 'dot' is not installed")
    height, nodes, labels, legend = _layout_boxes(graph(name))
    assert legend is not None and (legend[3] - legend[1]) / height <= 0.2
    assert legend[3] <= min(n[1] for n in nodes)       # under the picture
    for i, a in enumerate(labels):
        assert not any(_overlap(a, b) for b in labels[i + 1:]), a
        assert not any(_overlap(a, n) for n in nodes), a
