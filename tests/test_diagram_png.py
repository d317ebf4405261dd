"""PNG via Graphviz `dot` (skipped where dot is not installed) and the no-dot path."""
from __future__ import annotations

import logging
import shutil
import struct
from pathlib import Path

import pytest

from bot.diagram import parse_graph, render_png, to_dot

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
    assert "cluster_legend" in src and "Legend" in src
    assert "style=dashed" in src              # async edges
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
