"""Mermaid output checked by the real Mermaid parser (tests/mermaid/parse.mjs, Node).

scripts/test.sh installs it (npm) when Node is there; without it these tests skip, saying why."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.diagram import Edge, Graph, Node, NodeKind, parse_graph, to_mermaid
from tests.test_diagram_golden import DESIGNS, GOLDEN
from tests.test_diagram_render import graphs

HERE = Path(__file__).parent / "mermaid"


class MermaidParser:
    """One Node process running the real parser; one JSON line per source each way."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["node", str(HERE / "parse.mjs")], cwd=HERE, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def check(self, source: str) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(source) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def mermaid():
    if shutil.which("node") is None:
        pytest.skip("Node.js not found: the real Mermaid parser cannot run (install node and npm)")
    if not (HERE / "node_modules" / "mermaid").is_dir():
        pytest.skip("Mermaid parser not installed: run scripts/test.sh with npm available "
                    "(it runs 'npm install' in tests/mermaid)")
    parser = MermaidParser()
    yield parser
    parser.close()


def assert_parses(mermaid: MermaidParser, graph: Graph) -> str:
    src = to_mermaid(graph)
    result = mermaid.check(src)
    assert result["ok"], (result.get("error"), src)
    assert "%%{" not in src.replace(" ", "")
    return src


def test_the_parser_rejects_what_it_should(mermaid):
    """The harness is real: broken source and an injected directive are reported."""
    assert not mermaid.check("flowchart TD\n    a -->|GET /users/{id}| b\n")["ok"]
    assert not mermaid.check("%%{init: {'theme': 'dark'}}%%\nflowchart TD\n    a --> b\n")["ok"]
    assert mermaid.check("flowchart TD\n    a -->|\"GET /users/{id}\"| b\n")["ok"]


@pytest.mark.parametrize("name", DESIGNS)
def test_every_golden_design_parses(mermaid, name):
    assert_parses(mermaid, parse_graph((GOLDEN / f"{name}.json").read_text()))


def test_labels_with_brackets_braces_and_a_directive_parse_as_text(mermaid):
    g = Graph(title="Pay %%{init: {'theme': 'dark'}}%% system", nodes=[
        Node(id="web", label="Web (SPA) @edge", kind="client"),
        Node(id="api", label='API "v2" [beta] {x} | <b> & #1', kind="gateway", group="tier {1}"),
        Node(id="q", label="Events `md` %%{init}%%", kind="queue", bottleneck=True),
        Node(id="end", label="end", kind="service")],
        edges=[Edge(source="web", target="api", label="GET /users/{id}"),
               Edge(source="api", target="q", label="event (avro) [v1] @ 5%", style="async"),
               Edge(source="q", target="end", label="%%{init: {'theme':'dark'}}%%"),
               Edge(source="end", target="web", label='"quoted" | piped #tag')])
    src = assert_parses(mermaid, g)
    assert src.startswith("%% Pay (init: ('theme': 'dark')) system\n")


_hostile = st.text(st.sampled_from(list("ab {}[]()<>|\"'#%&`@:;/\\-.>=~*_!?^$") + ["é", "数", "🚀", "ש"]),
                   max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(max_nodes=8), st.lists(_hostile, min_size=8, max_size=8), _hostile)
def test_any_graph_with_any_labels_parses(mermaid, graph, texts, title):
    nodes = [n.model_copy(update={"label": (texts[i % 8] + " " + n.label).strip()}) for i, n in enumerate(graph.nodes)]
    edges = [e.model_copy(update={"label": texts[(i + 3) % 8]}) for i, e in enumerate(graph.edges)]
    g = Graph(title=title, nodes=nodes, edges=edges)
    assert_parses(mermaid, g)


def test_every_kind_has_a_shape_the_parser_knows(mermaid):
    g = Graph(nodes=[Node(id=k.value, label=k.value, kind=k) for k in NodeKind],
              edges=[Edge(source="client", target=k.value) for k in NodeKind if k is not NodeKind.client])
    assert_parses(mermaid, g)
