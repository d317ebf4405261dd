"""Test helper (no tests here): read a rendered diagram back as a picture, boxes and traced edges."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from wcwidth import wcwidth

from bot.diagram import Graph, to_dot

H_BORDER = set("─┬┴")
V_LINE = {"│": "sync", "┆": "async"}
H_LINE = {"─": "sync", "┄": "async"}
CORNERS = {"┌": "SE", "┐": "SW", "└": "NE", "┘": "NW"}
MOVE = {"N": (-1, 0), "S": (1, 0), "E": (0, 1), "W": (0, -1)}
OPP = {"N": "S", "S": "N", "E": "W", "W": "E"}

# unicode glyph -> ascii glyph, for checking the ascii picture is the same drawing: corners of
# lines (box corners are '+', see to_ascii)
TO_ASCII = {"─": "-", "│": "|", "┄": "~", "┆": ":", "┌": ".", "┐": ".", "└": "'", "┘": "'",
            "┼": "|", "▼": "v", "▲": "^", "┬": "+", "┴": "+"}


def to_ascii(lines: list[str], boxes) -> list[str]:
    """The ASCII drawing the unicode picture should become (`boxes`: (x, y, w, h) rectangles)."""
    corners = set()
    for x, y, w, h in boxes:
        corners |= {(y, x), (y, x + w - 1), (y + h - 1, x), (y + h - 1, x + w - 1)}
    return ["".join("+" if (y, x) in corners else TO_ASCII.get(ch, ch) for x, ch in enumerate(line))
            for y, line in enumerate(lines)]


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int
    text: str   # interior text, whitespace-normalised


FILL = "\x00"      # the second column of a wide character


def display_cells(line: str) -> str:
    """The line as one character per display column: a wide character then FILL, zero-width
    characters (bidi isolates, marks) left out."""
    out = []
    for ch in line:
        w = wcwidth(ch)
        if w <= 0:
            continue
        out.append(ch + FILL * (w - 1))
    return "".join(out)


class Picture:
    def __init__(self, text: str):
        self.lines = [display_cells(line) for line in text.split("\n")]

    def at(self, y: int, x: int) -> str:
        if 0 <= y < len(self.lines) and 0 <= x < len(self.lines[y]):
            return self.lines[y][x]
        return " "

    def boxes(self) -> list[Box]:
        """Every closed rectangle: corners aligned, four complete sides."""
        found = []
        for y, line in enumerate(self.lines):
            for x, ch in enumerate(line):
                if ch != "┌":
                    continue
                x2 = x + 1
                while self.at(y, x2) in H_BORDER:
                    x2 += 1
                if self.at(y, x2) != "┐" or x2 - x < 2:
                    continue
                y2 = y + 1
                while self.at(y2, x) == "│":
                    y2 += 1
                if self.at(y2, x) != "└" or y2 - y < 2:
                    continue
                if any(self.at(j, x2) != "│" for j in range(y + 1, y2)):
                    continue
                if self.at(y2, x2) != "┘":
                    continue
                if any(self.at(y2, i) not in H_BORDER for i in range(x + 1, x2)):
                    continue
                if any(self.at(y, i) not in H_BORDER for i in range(x + 1, x2)):
                    continue
                inner = " ".join(self.lines[j][x + 1:x2].replace(FILL, "") for j in range(y + 1, y2))
                found.append(Box(x, y, x2 - x + 1, y2 - y + 1, " ".join(inner.split())))
        return found

    def _skip_run_label(self, y: int, x: int, dx: int) -> int:
        """From the blank before a label on a run to the blank after it (the line goes on there)."""
        assert self.at(y, x + dx) not in " " and self.at(y, x - dx) in H_LINE, f"broken line at {(y, x)}"
        k = 1
        while self.at(y, x + k * dx) not in H_LINE:
            assert k < 200 and self.at(y, x + k * dx) not in CORNERS, f"broken line at {(y, x)}"
            k += 1
        assert self.at(y, x + (k - 1) * dx) == " ", f"label on a line at {(y, x)} runs into it"
        return x + (k - 1) * dx

    def edges(self, boxes: list[Box]) -> list[tuple[Box, Box, str]]:
        """Trace every line attached to a box; (source box, target box, style) per line.

        Raises AssertionError on any broken, dangling or ambiguous line."""
        top = {}
        bottom = {}
        for b in boxes:
            for i in range(b.x, b.x + b.w):
                top[(b.y, i)] = b
                bottom[(b.y + b.h - 1, i)] = b
        starts = []
        for b in boxes:
            for i in range(b.x + 1, b.x + b.w - 1):
                c = self.at(b.y + b.h, i)
                if c in V_LINE or c == "▲":
                    starts.append((b, b.y + b.h, i, "S"))
                c = self.at(b.y - 1, i)
                if c in V_LINE or c == "▼":
                    starts.append((b, b.y - 1, i, "N"))
        seen = set()
        out = []
        for b0, y, x, d in starts:
            if (y, x) in seen:
                continue
            path = [(y, x)]
            styles = []
            while True:
                ch = self.at(y, x)
                moving_v = d in "NS"
                if ch in V_LINE:
                    if moving_v:
                        styles.append(V_LINE[ch])
                    # moving sideways through a vertical glyph: a crossing
                elif ch in H_LINE:
                    assert not moving_v, f"vertical line runs into {ch!r} at {(y, x)}"
                    styles.append(H_LINE[ch])
                elif ch == "┼":
                    pass
                elif ch.isdigit() and moving_v and len(path) > 1:
                    pass        # a tag written on the line where lines run too close for it beside
                elif ch in CORNERS:
                    sides = CORNERS[ch]
                    entry = OPP[d]
                    assert entry in sides, f"line enters corner {ch!r} from {entry} at {(y, x)}"
                    d = sides.replace(entry, "")
                elif ch == " " and not moving_v and len(path) > 1:
                    # an edge label written into its own sideways run: " label " between two
                    # pieces of the line, so jump to the blank after it
                    x = self._skip_run_label(y, x, MOVE[d][1])
                elif ch in "▼▲":
                    assert len(path) == 1 or (ch == "▼" and d == "S") or (ch == "▲" and d == "N"), \
                        f"arrowhead {ch!r} in the middle of a line at {(y, x)}"
                else:
                    raise AssertionError(f"broken line at {(y, x)}: {ch!r}")
                dy, dx = MOVE[d]
                ny, nx = y + dy, x + dx
                if d == "S" and (ny, nx) in top:
                    end = top[(ny, nx)]
                    break
                if d == "N" and (ny, nx) in bottom:
                    end = bottom[(ny, nx)]
                    break
                assert (ny, nx) not in top and (ny, nx) not in bottom, f"line runs into a box at {(ny, nx)}"
                y, x = ny, nx
                path.append((y, x))
                assert len(path) < 10000
            seen.add(path[0])
            seen.add(path[-1])
            first, last = self.at(*path[0]), self.at(*path[-1])
            arrows = [c in "▼▲" for c in (first, last)]
            assert sum(arrows) == 1, f"line {path[0]}..{path[-1]} needs exactly one arrowhead: {first!r} {last!r}"
            # the plain end must leave its box through a port glyph on the border
            (py, px), pb = (path[-1], end) if arrows[0] else (path[0], b0)
            border = (py - 1, px) if (py - 1, px) in bottom and bottom[(py - 1, px)] is pb else (py + 1, px)
            assert self.at(*border) in "┬┴", f"line leaves {pb.text!r} without a port at {border}"
            src, dst = (end, b0) if arrows[0] else (b0, end)
            style = max(set(styles), key=styles.count) if styles else "sync"
            assert len(set(styles)) <= 1, f"mixed line styles on one edge: {styles}"
            out.append((src, dst, style))
        return out


# --- Graphviz's crossings for the same graph (the bench and the golden tests compare with them) ---

def _bezier(pts: list[list[float]], steps: int = 8) -> list[tuple[float, float]]:
    out = [(pts[0][0], pts[0][1])]
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i:i + 4]
        for k in range(1, steps + 1):
            t = k / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return out


def _cross(p, q, r, s) -> bool:
    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 1e-9) - (v < -1e-9)
    return orient(p, q, r) * orient(p, q, s) < 0 and orient(r, s, p) * orient(r, s, q) < 0


def graphviz_crossings(g: Graph) -> int | None:
    """Pairs of edges whose Graphviz splines cross (edges sharing a node are not counted)."""
    if not shutil.which("dot"):
        return None
    js = json.loads(subprocess.run(["dot", "-Tjson"], input=to_dot(g).encode(), capture_output=True,
                                   check=True, timeout=60).stdout)
    names = {o["_gvid"]: o["name"] for o in js.get("objects", [])}
    paths = []
    for e in js.get("edges", []):
        ends = (names.get(e["tail"]), names.get(e["head"]))
        if "legend" in ends:
            continue
        for op in e.get("_draw_", []):
            if op["op"] == "b":
                paths.append((ends, _bezier(op["points"])))
    total = 0
    for i, (ea, pa) in enumerate(paths):
        for eb, pb in paths[i + 1:]:
            if set(ea) & set(eb):
                continue
            if any(_cross(pa[k], pa[k + 1], pb[m], pb[m + 1]) for k in range(len(pa) - 1) for m in range(len(pb) - 1)):
                total += 1
    return total
