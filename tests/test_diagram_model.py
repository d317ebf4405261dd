"""parse_graph validation, the tool schema, diffs, change marking and Mermaid output."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.diagram import (
    GRAPH_TOOL,
    Edge,
    Graph,
    GraphError,
    Node,
    NodeKind,
    diff_graphs,
    parse_graph,
    parse_graph_report,
    render_text,
    to_mermaid,
)
from tests.test_diagram_support import Picture

GOOD = {
    "title": "Tiny",
    "nodes": [
        {"id": "web", "label": "Web", "kind": "client"},
        {"id": "api", "label": "API", "kind": "service", "scaling": True},
        {"id": "db", "label": "Main DB", "kind": "database", "bottleneck": True},
    ],
    "edges": [
        {"source": "web", "target": "api", "label": "GET /x"},
        {"source": "api", "target": "db", "label": "SELECT", "style": "sync"},
    ],
}


def errors_of(data) -> list[str]:
    with pytest.raises(GraphError) as ei:
        parse_graph(data)
    assert isinstance(ei.value, ValueError)
    return ei.value.errors


def test_parse_dict_and_text():
    g = parse_graph(GOOD)
    assert [n.id for n in g.nodes] == ["web", "api", "db"]
    assert g.nodes[2].kind is NodeKind.database and g.nodes[2].bottleneck
    assert g.edges[1].style == "sync" and g.edges[0].label == "GET /x"
    assert parse_graph(json.dumps(GOOD)) == g


@pytest.mark.parametrize("wrap", [
    "```json\n{}\n```",
    "```graph\n{}\n```",
    "  \n```graph\n{}\n```\n\n",
    "Here is the diagram:\n```graph\n{}\n```\nThat's it.",
    "```\n{}\n```",
    "```graph\n{}",  # unterminated fence
])
def test_parse_tolerates_fences(wrap):
    text = wrap.replace("{}", json.dumps(GOOD, indent=2))
    assert parse_graph(text) == parse_graph(GOOD)


def test_parse_lenient_kinds_and_styles():
    data = json.loads(json.dumps(GOOD))
    data["nodes"][2]["kind"] = "DB"
    data["nodes"].append({"id": "lb", "label": "LB", "kind": "load balancer"})
    data["edges"][0]["style"] = "Asynchronous"
    g = parse_graph(data)
    assert g.node("db").kind is NodeKind.database
    assert g.node("lb").kind is NodeKind.gateway
    assert g.edges[0].style == "async"


def test_all_errors_reported_at_once():
    data = {
        "nodes": [
            {"id": "api", "label": "", "kind": "service"},
            {"id": "db", "label": "DB", "kind": "database"},
            {"id": "db", "label": "DB 2", "kind": "database"},
            {"id": "x", "label": "X", "kind": "spaceship"},
            {"id": "y", "label": "Y", "kind": 7},
        ],
        "edges": [
            {"source": "api", "target": "db"},
            {"source": "api", "target": "db"},
            {"source": "api", "target": "cache2"},
            {"source": "db", "target": "db"},
            {"source": "api", "target": "db", "label": ["x"]},
        ],
    }
    errs = errors_of(data)
    text = "\n".join(errs)
    assert "node 'api' has an empty label" in text
    assert "duplicate node id 'db'" in text
    assert "node 'y' has no kind" in text
    assert "edge 3 (api -> cache2) points to unknown node 'cache2'" in text
    assert "edge 5 (api -> db): label must be a string" in text
    assert len(errs) == 5, errs


def test_almost_right_graph_is_repaired_locally():
    """Over-long labels, unknown kinds and styles, duplicate edges, self-loops: fixed, each fix listed."""
    long_edge = "crawl frontier batch of URLs to fetch next!"            # 43 characters
    long_node = "Distributed URL frontier with politeness queues"        # 47 characters
    data = {
        "nodes": [
            {"id": "sched", "label": "Scheduler", "kind": "batch job"},
            {"id": "front", "label": long_node, "kind": "Kafka"},
            {"id": "pg", "label": "Postgres", "kind": "postgresql"},
            {"id": "x", "label": "X", "kind": "spaceship"},
            {"id": "cdn", "label": "Edge", "kind": "CDN"},
            {"id": "nokind", "label": "Redis cache"},
        ],
        "edges": [
            {"source": "sched", "target": "front", "label": long_edge},
            {"source": "sched", "target": "front", "label": long_edge},
            {"source": "front", "target": "pg", "label": "read", "style": "event-driven"},
            {"source": "front", "target": "pg", "label": "write", "style": "event-driven"},
            {"source": "pg", "target": "pg", "label": "vacuum"},
            {"source": "cdn", "target": "x", "style": "maybe"},
        ],
    }
    g, repairs = parse_graph_report(data)
    kinds = {n.id: n.kind for n in g.nodes}
    assert kinds == {"sched": NodeKind.worker, "front": NodeKind.queue, "pg": NodeKind.database,
                     "x": NodeKind.service, "cdn": NodeKind.gateway, "nokind": NodeKind.cache}
    front = g.node("front").label
    assert len(front) <= 40 and front.endswith("…") and front.startswith("Distributed URL frontier")
    assert [(e.source, e.target, e.style) for e in g.edges] == [
        ("sched", "front", "sync"), ("front", "pg", "async"), ("cdn", "x", "sync")]
    assert g.edges[0].label.endswith("…") and len(g.edges[0].label) <= 40
    assert g.edges[1].label == "read, write"
    text = "\n".join(repairs)
    for needle in ("label of 47 characters shortened", "label of 43 characters shortened",
                   "kind 'spaceship' drawn as service", "2 edges sched -> front merged",
                   "connects a node to itself", "style 'maybe' drawn as sync", "kind None drawn as cache"):
        assert needle in text, (needle, repairs)
    assert parse_graph_report(GOOD)[1] == []


def test_web_crawler_with_a_49_character_edge_label_is_drawn():
    """Issue 9: one 49-character edge label used to invalidate the whole graph."""
    data = json.loads((Path(__file__).parent / "golden" / "diagrams" / "web_crawler.json").read_text())
    data["edges"][0]["label"] = "fetch robots.txt and then the page HTML, politely"
    assert len(data["edges"][0]["label"]) == 49
    g = parse_graph(data)
    assert g.edges[0].label == "fetch robots.txt and then the page HTML…"
    out = render_text(g, width=42)
    flat = " ".join(out.text.split())
    assert all(w in flat for w in ["fetch", "robots.txt", "and", "then", "the", "page", "HTML"])
    assert all(len(line) <= 42 for line in out.text.split("\n"))


def test_too_many_nodes():
    data = {"nodes": [{"id": f"n{i}", "label": f"N{i}", "kind": "service"} for i in range(24)], "edges": []}
    assert "too many nodes: 24 (max 20)" in errors_of(data)


@pytest.mark.parametrize("data,needle", [
    ("not json at all", "not valid JSON"),
    ("```graph\n{\"nodes\": [\n```", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"edges": []}, "missing 'nodes'"),
    ({"nodes": [], "edges": []}, "no nodes"),
    ({"nodes": "x", "edges": []}, "'nodes' must be a list"),
    ({"nodes": [{"label": "A", "kind": "service"}], "edges": []}, "node 1 has no id"),
    ({"nodes": [{"id": "a", "label": "A", "kind": ["service"]}], "edges": []}, "node 'a' has no kind"),
    ({"nodes": [{"id": "a", "label": 60, "kind": "service"}], "edges": []}, "label must be a string"),
    ({"nodes": [{"id": "a", "label": "A", "kind": "service", "bottleneck": "yes"}], "edges": []},
     "'bottleneck' must be true or false"),
    ({"nodes": [{"id": "a", "label": "A", "kind": "service"}], "edges": [{"target": "a"}]}, "edge 1 has no source"),
])
def test_single_errors(data, needle):
    errs = errors_of(data)
    assert any(needle in e for e in errs), errs


def test_renderers_validate_hand_built_graphs():
    with pytest.raises(ValidationError, match="unknown node 'zz'"):
        Graph(nodes=[Node(id="a", label="A", kind="service")], edges=[Edge(source="a", target="zz")])
    g = Graph.model_construct(title="", nodes=[Node(id="a", label="A", kind="service")],
                              edges=[Edge(source="a", target="zz")])
    with pytest.raises(GraphError, match="unknown node 'zz'"):
        render_text(g)
    with pytest.raises(GraphError):
        to_mermaid(g)


def test_tool_schema_matches_models():
    assert GRAPH_TOOL["name"] == "draw_diagram"
    assert GRAPH_TOOL["description"]
    schema = GRAPH_TOOL["input_schema"]
    assert schema["type"] == "object" and set(schema["required"]) == {"nodes", "edges"}
    node = schema["properties"]["nodes"]["items"]
    assert node["properties"]["kind"]["enum"] == [k.value for k in NodeKind]
    assert set(node["properties"]) == set(Node.model_fields)
    edge = schema["properties"]["edges"]["items"]
    assert set(edge["properties"]) == set(Edge.model_fields)
    assert edge["properties"]["style"]["enum"] == ["sync", "async"]
    json.dumps(GRAPH_TOOL)  # serialisable as sent to the API
    # what the tool would receive round-trips through parse_graph
    parse_graph(parse_graph(GOOD).model_dump(mode="json"))


def test_prompt_text_exists_and_names_the_kinds():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "prompts" / "diagram_graph.txt").read_text()
    assert "```graph" in text
    for k in NodeKind:
        assert k.value in text
    assert "sync" in text and "async" in text and "bottleneck" in text and "scaling" in text


def _bigger():
    data = json.loads(json.dumps(GOOD))
    data["nodes"].append({"id": "rl", "label": "Rate Limiter", "kind": "service"})
    data["nodes"][2]["kind"] = "cache"       # changed node
    data["edges"] = [
        {"source": "web", "target": "rl", "label": "GET /x"},
        {"source": "rl", "target": "api"},
        {"source": "api", "target": "db", "label": "SELECT"},
    ]
    return parse_graph(data)


def test_diff_graphs():
    old, new = parse_graph(GOOD), _bigger()
    d = diff_graphs(old, new)
    assert d.added_nodes == ["rl"] and d.removed_nodes == [] and d.changed_nodes == ["db"]
    assert set(d.added_edges) == {("web", "rl"), ("rl", "api")}
    assert d.removed_edges == [("web", "api")]
    assert d.marked_nodes == {"rl", "db"}
    assert diff_graphs(old, old).empty


def test_changes_marked_when_previous_given():
    old, new = parse_graph(GOOD), _bigger()
    plain = render_text(new)
    assert plain.changes == [] and "*" not in plain.text and "new or changed" not in plain.legend
    out = render_text(new, previous=old)
    assert "new: Rate Limiter" in out.changes
    assert "removed edge: Web -> API" in out.changes
    assert any(c.startswith("changed: Main DB") for c in out.changes)
    boxes = {b.text for b in Picture(out.text).boxes()}
    assert "*Rate Limiter" in boxes
    assert any(t.startswith("*~Main DB~") for t in boxes)
    assert "API xN" in boxes                       # unchanged node: no mark
    assert "new or changed" in out.legend
    assert render_text(new, previous=new).changes == []


def test_mermaid():
    g = parse_graph({**GOOD, "nodes": GOOD["nodes"] + [
        {"id": "q", "label": 'Jobs "main"', "kind": "queue", "group": "async tier"},
        {"id": "end", "label": "End", "kind": "worker", "group": "async tier"}],
        "edges": GOOD["edges"] + [{"source": "api", "target": "q", "label": "enqueue|x", "style": "async"},
                                  {"source": "q", "target": "end"}]})
    m = to_mermaid(g)
    lines = m.splitlines()
    assert "flowchart TD" in lines
    assert 'n_db[("Main DB !")]' in m                  # cylinder
    assert 'n_q[["Jobs #quot;main#quot;"]]' in m      # quotes escaped
    assert 'n_api -.->|"enqueue#124;x"| n_q' in m      # async dashed, quoted, pipe escaped
    assert 'n_web -->|"GET /x"| n_api' in m
    assert 'subgraph g0["async tier"]' in m and "    end" in lines
    assert "n_end" in m                                # 'end' id made safe
    assert m.count("-->") + m.count("-.->") == len(g.edges)


def test_lenient_ids_and_label_references():
    g = parse_graph({"nodes": [{"id": 1, "label": "Web", "kind": "client"},
                               {"id": "db", "label": "Main DB", "kind": "database"}],
                     "edges": [{"source": 1, "target": "Main DB"}]})
    assert g.nodes[0].id == "1"
    assert (g.edges[0].source, g.edges[0].target) == ("1", "db")


# --- robustness: whatever the model sends, parse_graph returns a Graph or raises GraphError ---

from hypothesis import given, settings
from hypothesis import strategies as st

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 30) | st.text(max_size=25),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
_ids = st.sampled_from(["a", "b", "c", "d", "", " ", "a "]) | _json
_node = st.fixed_dictionaries({}, optional={
    "id": _ids, "label": st.text(max_size=45) | _json,
    "kind": st.sampled_from([k.value for k in NodeKind] + ["DB", "lb", "thing", ""]) | _json,
    "group": st.none() | st.text(max_size=10) | _json, "bottleneck": _json, "scaling": st.booleans()})
_edge = st.fixed_dictionaries({}, optional={
    "source": _ids, "target": _ids, "label": st.text(max_size=45) | _json,
    "style": st.sampled_from(["sync", "async", "event", "x"]) | _json})
_graph = st.fixed_dictionaries({}, optional={
    "title": st.text(max_size=30) | _json, "nodes": st.lists(_node, max_size=6) | _json,
    "edges": st.lists(_edge, max_size=8) | _json})


@settings(max_examples=300, deadline=None)
@given(st.one_of(_graph, _json, st.text(max_size=60), _graph.map(lambda d: "```graph\n" + json.dumps(d) + "\n```")))
def test_parse_graph_never_crashes(data):
    try:
        g = parse_graph(data)
    except GraphError as e:
        assert e.errors and all(isinstance(m, str) and m for m in e.errors)
        return
    out = render_text(g, width=42)
    assert all(len(line) <= 42 for line in (out.text + "\n" + out.legend).split("\n"))
    to_mermaid(g)
