"""The layout state every stage of the text renderer shares, and the items it lays out."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from .model import Edge, Graph, Node

if TYPE_CHECKING:
    from .canvas import Glyphs

_CONTENT_MAX = 22
_MAX_MARGIN = 12
_CONTENT_MIN = 6
_GAP_BOX = 2
_GAP_DUMMY = 1      # between a box and a pass-through line
_DUMMY_COST = 3     # a pass-through line: two columns and a blank one
# blank rows at both ends of every channel: room for labels and tags beside a line's plain stretch
# where lines run close; the picture drops those no label used
SPARE = 1


@dataclass
class RenderedDiagram:
    text: str
    legend: str
    changes: list[str] = field(default_factory=list)


@dataclass
class Layout:
    """What the renderer drew, for tests and callers: box rectangles per node id."""
    boxes: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # id -> (x, y, w, h)
    list_mode: bool = False          # True when edges could not be drawn and are listed instead
    inline_labels: list[int] = field(default_factory=list)   # edge indices labelled in the picture
    listed_labels: list[int] = field(default_factory=list)   # edge indices labelled in the list
    fallback: Fallback | None = None   # why the list form was drawn, when it was
    crossings: int = 0               # line crossings drawn in the picture
    order_crossings: int = 0         # crossings the row order forces (the picture adds none)
    height: int = 0                  # lines of the picture (title and label list included)
    tags: dict[int, str] = field(default_factory=dict)        # edge index -> tag "(n)" written on its line
    # similar nodes drawn as one box (fans.py): box node id -> the node ids it stands for.  Box and
    # edge indices above refer to the graph as drawn, with those nodes collapsed.
    members: dict[str, list[str]] = field(default_factory=dict)


class Fallback(StrEnum):
    """Why a graph was drawn as boxes plus a list of connections instead of a picture."""
    too_wide = "too_wide"            # no layered drawing fits the width
    too_tangled = "too_tangled"      # more crossings than the budget
    too_tall = "too_tall"            # more lines than the budget


class Item:
    __slots__ = (
        "above",
        "below",
        "cw",
        "downs",
        "edge",
        "group",
        "h",
        "in_port",
        "is_box",
        "key",
        "lines",
        "node",
        "out_port",
        "pos",
        "text",
        "ups",
        "w",
        "x",
        "y",
    )

    def __init__(self, key, node=None, edge=None):
        self.key = key
        self.node = node      # node id for boxes
        self.edge = edge      # edge index for dummies
        self.is_box = node is not None   # a plain attribute: read in every hot loop
        self.w = 2
        self.h = 3
        self.x = 0
        self.y = 0
        self.lines: tuple[str, ...] = ()
        self.cw = 0           # widest label line
        self.ups: list[Link] = []
        self.downs: list[Link] = []
        self.pos = 0
        self.in_port = None
        self.out_port = None
        self.text = ""
        self.group = None
        # the items at the other end of `ups` / `downs`, filled in once the rows are built
        self.above: list[Item] = []
        self.below: list[Item] = []

    @property
    def center(self) -> float:
        return self.x + (self.w - 1) / 2


class Link:
    __slots__ = ("edge", "first", "labelled", "last", "low", "rev", "s", "style", "t", "track", "up")

    def __init__(self, up, low, edge, first, last, rev, style):
        self.up, self.low, self.edge = up, low, edge
        self.first, self.last, self.rev, self.style = first, last, rev, style
        self.s = self.t = None
        self.track = None
        self.labelled = False


_GAP = ((1, _GAP_DUMMY), (_GAP_DUMMY, _GAP_BOX))   # pass-through lines keep a blank column between them


def _gaps(row) -> list[int]:
    """Gap before each item of the row (0 before the first)."""
    return [0] + [_GAP[a.is_box][b.is_box] for a, b in itertools.pairwise(row)]


def _row_width(row) -> int:
    return sum(it.w for it in row) + sum(_gaps(row))


def _release(rows) -> None:
    """Break the item <-> link cycles of rows no longer needed.

    Items list their links and links name their items, so without this every render would
    leave hundreds of objects that only the cyclic garbage collector can free; its collections
    (a full one can take 10-20 ms) then land in the middle of later renders."""
    for row in rows:
        for it in row:
            it.ups = it.downs = it.above = it.below = ()


@dataclass
class LayoutState:
    """Everything one render works out, stage by stage (layering, ordering, routing, labels).

    The stages are functions of this one object instead of long argument lists; fields are
    filled in the order the stages run."""
    graph: Graph                      # the cleaned graph
    width: int
    glyphs: Glyphs
    marked: set[str]
    edges: list[Edge]                 # parallel edges of one style merged
    origin: list[list[int]]           # merged edge -> indices in graph.edges
    texts: dict[str, str]             # node id -> decorated box label
    ids: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    # layering
    rev: list[bool] = field(default_factory=list)             # per merged edge: drawn flowing up
    dag: list[tuple[str, str]] = field(default_factory=list)  # per merged edge: (upper, lower)
    layer: dict[str, int] = field(default_factory=dict)
    succ: dict[str, list[int]] = field(default_factory=dict)  # node -> dag edges leaving it downwards
    npred: dict[str, int] = field(default_factory=dict)
    minw: dict[str, int] = field(default_factory=dict)        # narrowest box per node
    rows: list[list[Item]] = field(default_factory=list)
    # placement and routing
    canvas: int = 0                   # picture width
    links_by_row: list[list[Link]] = field(default_factory=list)
    ntracks: list[int] = field(default_factory=list)          # track rows per channel
    band_top: list[int] = field(default_factory=list)
    band_h: list[int] = field(default_factory=list)
    channels: list[tuple[int, int]] = field(default_factory=list)  # (first row, height) per channel
    height: int = 0                   # canvas rows (bands and channels)
    max_crossings: int = 10**9        # crossing budget (render_text's max_crossings)
    keep_rows: set[int] = field(default_factory=set)   # canvas rows to keep even if only lines run there
    layout: Layout = field(default_factory=Layout)

    def __post_init__(self) -> None:
        self.ids = [n.id for n in self.graph.nodes]
        self.nodes = {n.id: n for n in self.graph.nodes}
        self.groups = {n.id: n.group for n in self.graph.nodes if n.group}
