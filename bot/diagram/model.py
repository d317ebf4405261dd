"""The diagram graph: models, validation (`parse_graph`), the tool schema and diffs."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

MAX_NODES = 20
MAX_EDGES = 40
MAX_LABEL = 40
MAX_EDGE_LABEL = 40


class NodeKind(StrEnum):
    client = "client"
    service = "service"
    gateway = "gateway"      # gateway / load balancer
    cache = "cache"
    database = "database"
    queue = "queue"          # queue / stream
    storage = "storage"      # blob / object store
    external = "external"    # external system
    worker = "worker"


KIND_HELP: dict[NodeKind, str] = {
    NodeKind.client: "user / client app",
    NodeKind.service: "service",
    NodeKind.gateway: "gateway / load balancer",
    NodeKind.cache: "cache",
    NodeKind.database: "database",
    NodeKind.queue: "queue / stream",
    NodeKind.storage: "blob / object storage",
    NodeKind.external: "external system",
    NodeKind.worker: "background worker",
}

# Lenient spellings a model may use for a kind.
_KIND_ALIASES = {
    "db": "database", "sql": "database", "nosql": "database", "datastore": "database",
    "lb": "gateway", "load_balancer": "gateway", "loadbalancer": "gateway", "load balancer": "gateway",
    "api_gateway": "gateway", "proxy": "gateway", "cdn": "gateway",
    "stream": "queue", "topic": "queue", "broker": "queue", "pubsub": "queue", "message_queue": "queue",
    "blob": "storage", "object_store": "storage", "objectstore": "storage", "s3": "storage", "bucket": "storage",
    "ext": "external", "third_party": "external", "thirdparty": "external",
    "user": "client", "browser": "client", "mobile": "client",
    "job": "worker", "consumer": "worker", "cron": "worker",
    "server": "service", "app": "service", "api": "service", "microservice": "service",
}
_STYLE_ALIASES = {"synchronous": "sync", "asynchronous": "async", "request": "sync", "event": "async"}


class Node(BaseModel):
    id: str
    label: str
    kind: NodeKind
    group: str | None = None
    bottleneck: bool = False
    scaling: bool = False


class Edge(BaseModel):
    source: str
    target: str
    label: str = ""
    style: Literal["sync", "async"] = "sync"


class Graph(BaseModel):
    title: str = ""
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


class GraphError(ValueError):
    """An invalid graph; `.errors` lists every problem found, one readable line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("invalid diagram graph: " + "; ".join(self.errors))


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)(?:\r?\n)?[ \t]*```", re.S)


def _extract_json_text(text: str) -> str:
    s = text.strip().lstrip("\ufeff")
    if s.startswith("{"):
        return s
    blocks = _FENCE.findall(s)
    for lang, body in blocks:                      # prefer a ```graph / ```json block
        if lang.lower() in ("graph", "json") and body.strip().startswith("{"):
            return body.strip()
    for _lang, body in blocks:
        if body.strip().startswith("{"):
            return body.strip()
    # an unterminated fence, or prose around a bare object
    s2 = re.sub(r"^```[A-Za-z0-9_-]*", "", s).strip()
    s2 = re.sub(r"```$", "", s2).strip()
    if s2.startswith("{"):
        return s2
    i, j = s.find("{"), s.rfind("}")
    if i != -1 and j > i:
        return s[i:j + 1]
    return s


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def parse_graph(data: str | bytes | dict) -> Graph:
    """Validate the model's graph (JSON text, optionally fenced, or a dict).

    Raises GraphError listing ALL problems found."""
    errors: list[str] = []
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        text = _extract_json_text(data)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GraphError([f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"]) from None
    if isinstance(data, BaseModel):
        data = data.model_dump()
    if not isinstance(data, dict):
        raise GraphError([f"the graph must be a JSON object with 'nodes' and 'edges', got {type(data).__name__}"])

    title = data.get("title") or ""
    if not _is_str(title):
        errors.append("'title' must be a string")
        title = ""

    raw_nodes = data.get("nodes")
    raw_edges = data.get("edges", [])
    if raw_nodes is None:
        errors.append("missing 'nodes' list")
        raw_nodes = []
    elif not isinstance(raw_nodes, list):
        errors.append("'nodes' must be a list")
        raw_nodes = []
    if raw_edges is None:
        raw_edges = []
    elif not isinstance(raw_edges, list):
        errors.append("'edges' must be a list")
        raw_edges = []

    if not raw_nodes and isinstance(data.get("nodes"), list):
        errors.append("the graph has no nodes")
    if len(raw_nodes) > MAX_NODES:
        errors.append(f"too many nodes: {len(raw_nodes)} (max {MAX_NODES})")
    if len(raw_edges) > MAX_EDGES:
        errors.append(f"too many edges: {len(raw_edges)} (max {MAX_EDGES})")

    nodes: list[Node] = []
    seen: set[str] = set()
    ids: set[str] = set()
    kinds = ", ".join(k.value for k in NodeKind)
    for i, rn in enumerate(raw_nodes, 1):
        if not isinstance(rn, dict):
            errors.append(f"node {i} must be an object")
            continue
        nid = rn.get("id")
        if isinstance(nid, int) and not isinstance(nid, bool):
            nid = str(nid)
        if not _is_str(nid) or not nid.strip():
            errors.append(f"node {i} has no id")
            continue
        nid = nid.strip()
        name = f"node '{nid}'"
        ok = True
        if nid in seen:
            errors.append(f"duplicate node id '{nid}'")
            ok = False
        seen.add(nid)
        ids.add(nid)
        label = rn.get("label")
        if label is None or (_is_str(label) and not label.strip()):
            errors.append(f"{name} has an empty label")
            ok = False
        elif not _is_str(label):
            errors.append(f"{name}: label must be a string")
            ok = False
        else:
            label = " ".join(label.split())
            if len(label) > MAX_LABEL:
                errors.append(f"{name} has a label of {len(label)} characters (max {MAX_LABEL}; keep it short)")
                ok = False
        kind = rn.get("kind")
        if not _is_str(kind):
            errors.append(f"{name} has no kind (one of: {kinds})")
            ok = False
        else:
            k = kind.strip().lower().replace("-", "_")
            k = _KIND_ALIASES.get(k, _KIND_ALIASES.get(k.replace("_", " "), k))
            if k not in NodeKind.__members__:
                errors.append(f"{name} has unknown kind '{kind}' (one of: {kinds})")
                ok = False
            else:
                kind = k
        group = rn.get("group")
        if group is not None and not _is_str(group):
            errors.append(f"{name}: group must be a string or null")
            ok = False
        elif _is_str(group):
            group = group.strip() or None
        flags = {}
        for flag in ("bottleneck", "scaling"):
            v = rn.get(flag, False)
            if v is None:
                v = False
            if not isinstance(v, bool):
                errors.append(f"{name}: '{flag}' must be true or false")
                ok = False
            flags[flag] = v
        if ok:
            nodes.append(Node(id=nid, label=label, kind=NodeKind(kind), group=group, **flags))

    labels_seen: dict[str, list[str]] = {}
    for n in nodes:
        labels_seen.setdefault(n.label.lower(), []).append(n.id)
    by_label = {k: v[0] for k, v in labels_seen.items() if len(v) == 1}
    edges: list[Edge] = []
    for i, re_ in enumerate(raw_edges, 1):
        if not isinstance(re_, dict):
            errors.append(f"edge {i} must be an object")
            continue
        src, dst = re_.get("source"), re_.get("target")
        src, dst = (str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in (src, dst))
        # tolerate an edge naming a node by its label instead of its id
        src, dst = (by_label.get(v.strip().lower(), v) if _is_str(v) and v.strip() not in ids else v
                    for v in (src, dst))
        ok = True
        desc = f"edge {i} ({src} -> {dst})"
        for end, v in (("source", src), ("target", dst)):
            if not _is_str(v) or not v.strip():
                errors.append(f"edge {i} has no {end}")
                ok = False
        if not ok:
            continue
        src, dst = src.strip(), dst.strip()
        for v in (src, dst):
            if v not in ids:
                errors.append(f"{desc} points to unknown node '{v}'")
                ok = False
        if src == dst:
            errors.append(f"{desc} connects node '{src}' to itself")
            ok = False
        label = re_.get("label") or ""
        if not _is_str(label):
            errors.append(f"{desc}: label must be a string")
            ok = False
            label = ""
        label = " ".join(label.split())
        if len(label) > MAX_EDGE_LABEL:
            errors.append(f"{desc} has a label of {len(label)} characters (max {MAX_EDGE_LABEL})")
            ok = False
        style = re_.get("style") or "sync"
        if _is_str(style):
            style = _STYLE_ALIASES.get(style.strip().lower(), style.strip().lower())
        if style not in ("sync", "async"):
            errors.append(f"{desc} has style '{re_.get('style')}' (use 'sync' or 'async')")
            ok = False
        if ok:
            edges.append(Edge(source=src, target=dst, label=label, style=style))

    if errors:
        raise GraphError(errors)
    return Graph(title=" ".join(title.split()), nodes=nodes, edges=edges)


def check_graph(graph: Graph) -> None:
    """Validate a Graph built directly (not via parse_graph); raises GraphError.

    Every render checks its graph, usually one parse_graph already accepted: a graph that is
    plainly valid as it stands passes a quick look at the model itself; anything else goes
    through parse_graph (a JSON round trip), which reports every problem."""
    if _plainly_valid(graph):
        return
    parse_graph(graph.model_dump(mode="json"))


def _plainly_valid(graph: Graph) -> bool:
    """True only if parse_graph would accept graph.model_dump(mode="json") unchanged: fields of
    exactly the declared types, ids already stripped and unique, edges naming node ids, sizes
    within the limits.  False whenever in doubt (parse_graph then decides)."""
    if type(graph) is not Graph or type(graph.title) is not str:
        return False
    nodes, edges = graph.nodes, graph.edges
    if type(nodes) is not list or type(edges) is not list:
        return False
    if not 0 < len(nodes) <= MAX_NODES or len(edges) > MAX_EDGES:
        return False
    ids: set[str] = set()
    for n in nodes:
        if type(n) is not Node:
            return False
        nid, label, group = n.id, n.label, n.group
        if type(nid) is not str or not nid or nid != nid.strip() or nid in ids:
            return False
        if type(label) is not str or not 0 < len(" ".join(label.split())) <= MAX_LABEL:
            return False
        # a NodeKind dumps to its value, which is also its member name (and no alias)
        if type(n.kind) is not NodeKind or not (group is None or type(group) is str):
            return False
        if type(n.bottleneck) is not bool or type(n.scaling) is not bool:
            return False
        ids.add(nid)
    for e in edges:
        if type(e) is not Edge:
            return False
        src, dst, label = e.source, e.target, e.label
        if type(src) is not str or type(dst) is not str or src not in ids or dst not in ids or src == dst:
            return False
        if type(label) is not str or len(" ".join(label.split())) > MAX_EDGE_LABEL:
            return False
        if e.style not in ("sync", "async"):
            return False
    return True


GRAPH_TOOL: dict = {
    "name": "draw_diagram",
    "description": (
        "Draw the architecture as a box-and-arrow diagram. Give the components as nodes "
        "(short labels, a kind each) and the calls or data flows between them as edges. "
        "The bot lays it out and draws it; do not draw ASCII art yourself."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Short diagram title."},
            "nodes": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_NODES,
                "description": "Components, 4-15 of them.",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "Unique short id, e.g. 'api'."},
                        "label": {"type": "string", "description": "Short label, at most ~18 characters."},
                        "kind": {"type": "string", "enum": [k.value for k in NodeKind],
                                 "description": "gateway = gateway or load balancer; queue = queue or stream; "
                                                "storage = blob/object store; external = third-party system."},
                        "group": {"type": ["string", "null"], "description": "Optional tier or zone name."},
                        "bottleneck": {"type": "boolean", "description": "True if this is a likely bottleneck."},
                        "scaling": {"type": "boolean", "description": "True if this is where we scale out."},
                    },
                    "required": ["id", "label", "kind"],
                    "additionalProperties": False,
                },
            },
            "edges": {
                "type": "array",
                "maxItems": MAX_EDGES,
                "description": "Calls or data flows between node ids.",
                "items": {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string", "description": "id of the calling / sending node"},
                        "target": {"type": "string", "description": "id of the called / receiving node"},
                        "label": {"type": "string", "description": "The call or data, e.g. 'POST /urls'."},
                        "style": {"type": "string", "enum": ["sync", "async"],
                                  "description": "sync = request/response; async = message, event or job."},
                    },
                    "required": ["source", "target"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["nodes", "edges"],
        "additionalProperties": False,
    },
}


EdgeKey = tuple[str, str]


@dataclass
class GraphDiff:
    added_nodes: list[str] = field(default_factory=list)      # node ids in the new graph
    removed_nodes: list[str] = field(default_factory=list)    # node ids in the old graph
    changed_nodes: list[str] = field(default_factory=list)    # same id, different label/kind/flags/group
    added_edges: list[EdgeKey] = field(default_factory=list)  # (source, target)
    removed_edges: list[EdgeKey] = field(default_factory=list)
    changed_edges: list[EdgeKey] = field(default_factory=list)  # same endpoints, different label/style

    @property
    def empty(self) -> bool:
        return not (self.added_nodes or self.removed_nodes or self.changed_nodes
                    or self.added_edges or self.removed_edges or self.changed_edges)

    @property
    def marked_nodes(self) -> set[str]:
        """Nodes to mark as new/changed in the new drawing."""
        return set(self.added_nodes) | set(self.changed_nodes)

    def lines(self, old: Graph, new: Graph) -> list[str]:
        """Human lines like 'new: Rate Limiter', 'removed edge: API -> DB'."""
        olab = {n.id: n.label for n in old.nodes}
        nlab = {n.id: n.label for n in new.nodes}
        out = [f"new: {nlab[i]}" for i in self.added_nodes]
        out += [f"removed: {olab[i]}" for i in self.removed_nodes]
        for i in self.changed_nodes:
            o, n = old.node(i), new.node(i)
            what = []
            if o.label != n.label:
                what.append(f"was {o.label}")
            if o.kind != n.kind:
                what.append(f"{o.kind.value} -> {n.kind.value}")
            if o.bottleneck != n.bottleneck:
                what.append("now a bottleneck" if n.bottleneck else "no longer a bottleneck")
            if o.scaling != n.scaling:
                what.append("now a scaling point" if n.scaling else "no longer a scaling point")
            if o.group != n.group:
                what.append(f"moved to {n.group}" if n.group else "left its group")
            out.append(f"changed: {n.label} ({', '.join(what)})" if what else f"changed: {n.label}")
        out += [f"new edge: {nlab[s]} -> {nlab[t]}" for s, t in self.added_edges]
        out += [f"removed edge: {olab[s]} -> {olab[t]}" for s, t in self.removed_edges]
        out += [f"changed edge: {nlab[s]} -> {nlab[t]}" for s, t in self.changed_edges]
        return out


def _edge_map(g: Graph) -> dict[EdgeKey, list[Edge]]:
    m: dict[EdgeKey, list[Edge]] = {}
    for e in g.edges:
        m.setdefault((e.source, e.target), []).append(e)
    return m


def diff_graphs(old: Graph, new: Graph) -> GraphDiff:
    d = GraphDiff()
    old_nodes = {n.id: n for n in old.nodes}
    new_nodes = {n.id: n for n in new.nodes}
    for n in new.nodes:
        o = old_nodes.get(n.id)
        if o is None:
            d.added_nodes.append(n.id)
        elif o != n:
            d.changed_nodes.append(n.id)
    d.removed_nodes = [n.id for n in old.nodes if n.id not in new_nodes]
    oe, ne = _edge_map(old), _edge_map(new)
    for k, es in ne.items():
        if k not in oe:
            d.added_edges.append(k)
        elif sorted((e.label, e.style) for e in es) != sorted((e.label, e.style) for e in oe[k]):
            d.changed_edges.append(k)
    d.removed_edges = [k for k in oe if k not in ne]
    return d
