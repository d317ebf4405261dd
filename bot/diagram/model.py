"""The diagram graph: models whose validators repair what they can and report the rest.

`parse_graph` reads the model's JSON.  Validation lives on the models themselves:
`Node` and `Edge` normalise and repair their own fields (over-long labels shortened with
an ellipsis, unknown kinds and styles mapped to the nearest), `Graph` checks the whole
(ids unique, edges between known nodes) and merges duplicate edges.  What cannot be
repaired is reported, every problem at once, as a `GraphError`; the repairs made are
listed by `parse_graph_report` so a caller can log them.
"""
from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, ValidationInfo, model_validator

from .repair import (
    Kind,
    exact_kind,
    exact_style,
    join_labels,
    nearest_id,
    nearest_kind,
    nearest_style,
    shorten,
    squash,
)

MAX_NODES = 20
MAX_EDGES = 40
MAX_LABEL = 40
MAX_EDGE_LABEL = 40

NodeKind = Kind

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


class GraphError(ValueError):
    """An invalid graph; `.errors` lists every problem found, one readable line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("invalid diagram graph: " + "; ".join(self.errors))


def _note(info: ValidationInfo, text: str) -> None:
    """Record a repair in the validation context's `repairs` list, when the caller gave one."""
    ctx = info.context
    if isinstance(ctx, dict) and isinstance(ctx.get("repairs"), list):
        ctx["repairs"].append(text)


def _name_of(info: ValidationInfo, what: str) -> str:
    ctx = info.context
    index = ctx.get("index") if isinstance(ctx, dict) else None
    return f"{what} {index}" if index is not None else what


def _as_id(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v.strip() if isinstance(v, str) else v


def _flag(d: dict, name: str, flag: str, errors: list[str]) -> None:
    v = d.get(flag)
    if v is None:
        d[flag] = False
    elif not isinstance(v, bool):
        errors.append(f"{name}: '{flag}' must be true or false")


def _fields_of(data: Any, info: ValidationInfo, what: str) -> dict[str, Any]:
    """A copy of the raw object's fields; names the item when it is not an object."""
    if not isinstance(data, dict):
        raise ValueError(f"{_name_of(info, what)} must be an object")
    return dict(data)


class Node(BaseModel):
    id: str
    label: str
    kind: NodeKind
    group: str | None = None
    bottleneck: bool = False
    scaling: bool = False

    @model_validator(mode="before")
    @classmethod
    def _repair(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, BaseModel):
            return data
        d = _fields_of(data, info, "node")
        errors: list[str] = []
        nid = _as_id(d.get("id"))
        if not isinstance(nid, str) or not nid:
            raise ValueError(f"{_name_of(info, 'node')} has no id")
        d["id"] = nid
        name = f"node '{nid}'"
        label = d.get("label")
        if label is None or (isinstance(label, str) and not label.strip()):
            errors.append(f"{name} has an empty label")
        elif not isinstance(label, str):
            errors.append(f"{name}: label must be a string")
        else:
            d["label"] = shorten(squash(label), MAX_LABEL)
            if d["label"] != squash(label):
                _note(info, f"{name}: label of {len(squash(label))} characters shortened")
        kind = d.get("kind")
        if isinstance(kind, NodeKind):
            pass
        elif kind is None or isinstance(kind, str):
            known = exact_kind(kind) if isinstance(kind, str) else None
            if known is None:
                known = nearest_kind(kind or "", d["label"] if isinstance(d.get("label"), str) else "")
                _note(info, f"{name}: kind {kind!r} drawn as {known.value}")
            d["kind"] = known
        else:
            errors.append(f"{name} has no kind (one of: {', '.join(k.value for k in NodeKind)})")
        group = d.get("group")
        if group is not None and not isinstance(group, str):
            errors.append(f"{name}: group must be a string or null")
        elif isinstance(group, str):
            d["group"] = squash(group) or None
        for flag in ("bottleneck", "scaling"):
            _flag(d, name, flag, errors)
        if errors:
            raise ValueError("\n".join(errors))
        return d


class Edge(BaseModel):
    source: str
    target: str
    label: str = ""
    style: Literal["sync", "async"] = "sync"

    @model_validator(mode="before")
    @classmethod
    def _repair(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, BaseModel):
            return data
        d = _fields_of(data, info, "edge")
        src, dst = _as_id(d.get("source")), _as_id(d.get("target"))
        for end, v in (("source", src), ("target", dst)):
            if not isinstance(v, str) or not v:
                raise ValueError(f"{_name_of(info, 'edge')} has no {end}")
        d["source"], d["target"] = src, dst
        desc = f"{_name_of(info, 'edge')} ({src} -> {dst})"
        label = d.get("label") or ""
        if not isinstance(label, str):
            raise ValueError(f"{desc}: label must be a string")  # noqa: TRY004 (pydantic reports ValueError)
        d["label"] = shorten(squash(label), MAX_EDGE_LABEL)
        if d["label"] != squash(label):
            _note(info, f"{desc}: label of {len(squash(label))} characters shortened")
        style = d.get("style") or "sync"
        known = exact_style(style) if isinstance(style, str) else None
        if known is None:
            known = nearest_style(style if isinstance(style, str) else "")
            _note(info, f"{desc}: style {style!r} drawn as {known}")
        d["style"] = known
        return d


def _errors_of(exc: ValidationError) -> list[str]:
    """The readable lines inside a ValidationError raised by our validators."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        msg = str(err.get("msg", ""))
        msg = msg.removeprefix("Value error, ")
        if err.get("type") != "value_error":
            loc = " ".join(str(p) for p in err.get("loc", ()))
            msg = f"{loc}: {msg}" if loc else msg
        out += [line for line in msg.split("\n") if line]
    return out or [str(exc)]


def _sub(model: type[BaseModel], raw: Any, index: int, info: ValidationInfo, errors: list[str]) -> Any:
    ctx = {"index": index, "repairs": (info.context or {}).get("repairs") if isinstance(info.context, dict)
           else None}
    try:
        return model.model_validate(raw, context=ctx)
    except ValidationError as exc:
        errors += _errors_of(exc)
        return None


def _list_field(d: dict, key: str, errors: list[str], *, required: bool) -> list:
    v = d.get(key)
    if v is None:
        if required:
            errors.append(f"missing '{key}' list")
        return []
    if not isinstance(v, list):
        errors.append(f"'{key}' must be a list")
        return []
    return v


class Graph(BaseModel):
    title: str = ""
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, dict):
            raise ValueError(f"the graph must be a JSON object with 'nodes' and 'edges', got {type(data).__name__}")  # noqa: TRY004
        errors: list[str] = []
        title = data.get("title") or ""
        if not isinstance(title, str):
            errors.append("'title' must be a string")
            title = ""
        raw_nodes = _list_field(data, "nodes", errors, required=True)
        raw_edges = _list_field(data, "edges", errors, required=False)
        if not raw_nodes and isinstance(data.get("nodes"), list):
            errors.append("the graph has no nodes")
        if len(raw_nodes) > MAX_NODES:
            errors.append(f"too many nodes: {len(raw_nodes)} (max {MAX_NODES})")
        if len(raw_edges) > MAX_EDGES:
            errors.append(f"too many edges: {len(raw_edges)} (max {MAX_EDGES})")
        nodes = _unique_nodes([_sub(Node, rn, i, info, errors) for i, rn in enumerate(raw_nodes, 1)], errors, info)
        raw_ids = [_as_id(rn.get("id") if isinstance(rn, dict) else getattr(rn, "id", None)) for rn in raw_nodes]
        edges = _known_edges(raw_edges, nodes, {i for i in raw_ids if isinstance(i, str) and i}, info, errors)
        if errors:
            raise ValueError("\n".join(errors))
        return {"title": squash(title), "nodes": nodes, "edges": _merge_duplicates(edges, info)}


def _unique_nodes(nodes: list[Node | None], errors: list[str], info: ValidationInfo) -> list[Node]:
    out: dict[str, Node] = {}
    for n in nodes:
        if n is None:
            continue
        if n.id not in out:
            out[n.id] = n
        elif out[n.id] == n:
            _note(info, f"node '{n.id}' listed twice: kept once")
        else:
            errors.append(f"duplicate node id '{n.id}'")
    return list(out.values())


def _resolve_end(v: Any, ids: set[str], by_label: dict[str, str]) -> Any:
    """An edge end naming a node by its label (or a plain misspelling of its id) made its id."""
    v = _as_id(v)
    if not isinstance(v, str) or not v or v in ids:
        return v
    return by_label.get(v.lower()) or nearest_id(v, sorted(ids)) or v


def _known_edges(raw_edges: list, nodes: list[Node], ids: set[str], info: ValidationInfo,
                 errors: list[str]) -> list[Edge]:
    """Valid edges between the nodes (`ids`: every node id given, valid node or not)."""
    labels: dict[str, list[str]] = {}
    for n in nodes:
        labels.setdefault(n.label.lower(), []).append(n.id)
    by_label = {k: v[0] for k, v in labels.items() if len(v) == 1}
    out: list[Edge] = []
    for i, re_ in enumerate(raw_edges, 1):
        if isinstance(re_, dict):
            re_ = dict(re_)
            for end in ("source", "target"):
                re_[end] = _resolve_end(re_.get(end), ids, by_label)
        e = _sub(Edge, re_, i, info, errors)
        if e is None:
            continue
        bad = [v for v in (e.source, e.target) if v not in ids]
        for v in bad:
            errors.append(f"edge {i} ({e.source} -> {e.target}) points to unknown node '{v}'")
        if bad:
            continue
        if e.source == e.target:
            _note(info, f"edge {i} ({e.source} -> {e.target}) connects a node to itself: left out")
            continue
        out.append(e)
    return out


def _merge_duplicates(edges: list[Edge], info: ValidationInfo) -> list[Edge]:
    """One edge per (source, target, style), labels joined."""
    merged: dict[tuple[str, str, str], list[Edge]] = {}
    for e in edges:
        merged.setdefault((e.source, e.target, e.style), []).append(e)
    out = []
    for (src, dst, _style), group in merged.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        _note(info, f"{len(group)} edges {src} -> {dst} merged into one")
        out.append(group[0].model_copy(update={"label": join_labels([e.label for e in group], MAX_EDGE_LABEL)}))
    return out


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\r?\n(.*?)(?:\r?\n)?[ \t]*```", re.DOTALL)


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


def parse_graph_report(data: str | bytes | dict | BaseModel) -> tuple[Graph, list[str]]:
    """The validated graph (JSON text, optionally fenced, or a dict) and the repairs made to it.

    Raises GraphError listing ALL problems that could not be repaired."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        try:
            data = json.loads(_extract_json_text(data))
        except json.JSONDecodeError as e:
            raise GraphError([f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"]) from None
    repairs: list[str] = []
    try:
        graph = Graph.model_validate(data, context={"repairs": repairs})
    except ValidationError as exc:
        raise GraphError(_errors_of(exc)) from None
    except RecursionError:
        raise GraphError(["the graph is nested too deeply"]) from None
    return graph, repairs


def parse_graph(data: str | bytes | dict | BaseModel) -> Graph:
    """Validate the model's graph, repairing what can be repaired; GraphError lists the rest."""
    return parse_graph_report(data)[0]


def check_graph(graph: Graph) -> None:
    """Validate a Graph built without validation (model_construct, edited fields); raises GraphError.

    A graph that is plainly valid as it stands passes a quick look; anything else goes through
    the validators again."""
    if _plainly_valid(graph):
        return
    parse_graph(graph.model_dump(mode="json") if isinstance(graph, BaseModel) else graph)


def _plainly_valid(graph: Graph) -> bool:
    """True only if validation would accept the graph unchanged; False whenever in doubt."""
    if type(graph) is not Graph or type(graph.title) is not str:
        return False
    nodes, edges = graph.nodes, graph.edges
    if type(nodes) is not list or type(edges) is not list:
        return False
    if not 0 < len(nodes) <= MAX_NODES or len(edges) > MAX_EDGES:
        return False
    ids: set[str] = set()
    for n in nodes:
        if type(n) is not Node or type(n.id) is not str or not n.id or n.id in ids:
            return False
        if type(n.label) is not str or not 0 < len(n.label) <= MAX_LABEL or type(n.kind) is not NodeKind:
            return False
        ids.add(n.id)
    seen: set[tuple[str, str, str]] = set()
    for e in edges:
        if type(e) is not Edge or e.source not in ids or e.target not in ids or e.source == e.target:
            return False
        if type(e.label) is not str or len(e.label) > MAX_EDGE_LABEL or (e.source, e.target, e.style) in seen:
            return False
        seen.add((e.source, e.target, e.style))
    return True


# re-exported for callers that import everything from here (imported last: they import this module)
from .diff import EdgeKey, GraphDiff, diff_graphs  # noqa: E402
from .schema import GRAPH_TOOL  # noqa: E402

__all__ = ["GRAPH_TOOL", "KIND_HELP", "MAX_EDGES", "MAX_EDGE_LABEL", "MAX_LABEL", "MAX_NODES", "Edge", "EdgeKey",
           "Graph", "GraphDiff", "GraphError", "Node", "NodeKind", "check_graph", "diff_graphs", "parse_graph",
           "parse_graph_report"]
