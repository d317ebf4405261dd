"""What changed between two diagrams of one design (marked `*` in the new picture)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Edge, Graph

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
