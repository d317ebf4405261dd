"""Fitting a text diagram the model drew itself to the diagram width.

When a diagram must be shown as the model wrote it (no graph could be had),
a drawing wider than the thread's code blocks is cut into vertical bands,
stacked top to bottom, like a wide picture printed on several pages.  Each
cut is placed where the fewest lines have ink, so boxes are rarely split.
"""
from __future__ import annotations

import re
import unicodedata

CONTINUED = "(continued)"
_FENCE_RE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})([^\n]*)\n(.*?)\n\s{0,3}\2[ \t]*$", re.DOTALL | re.MULTILINE)


def _cells(line: str) -> list[str]:
    """One entry per terminal column; a wide character is followed by an empty cell."""
    cells: list[str] = []
    for ch in line.expandtabs(4):
        if unicodedata.combining(ch) and cells:
            cells[-1] += ch
            continue
        cells.append(ch)
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            cells.append("")
    return cells


def display_width(line: str) -> int:
    return len(_cells(line))


def _blank_at(row: list[str], col: int) -> bool:
    """True when a cut before column `col` crosses no ink in this row."""
    if col >= len(row):
        return True
    return row[col] in (" ",) and (col == 0 or row[col - 1] in (" ",))


def _best_cut(rows: list[list[str]], start: int, width: int) -> int:
    lo, hi = start + max(1, width // 2), start + width
    best, best_score = hi, -1
    for col in range(hi, lo - 1, -1):
        if any(col < len(r) and r[col] == "" for r in rows):
            continue   # would split a wide character
        score = sum(_blank_at(r, col) for r in rows)
        # The rightmost best gap, cut at its left edge: an arrow crossing it moves whole to the next band.
        if score > best_score or (score == best_score and col == best - 1):
            best, best_score = col, score
    if best_score < 0:
        # Every column splits some wide character: move those characters right of the cut.
        for r in rows:
            if best < len(r) and r[best] == "":
                r[best - 1], r[best] = " ", r[best - 1]
                r.insert(best + 1, "")
    return best


def _tidy(band: list[str]) -> list[str]:
    band = [line.rstrip() for line in band]
    while band and not band[0]:
        band.pop(0)
    while band and not band[-1]:
        band.pop()
    indent = min((len(x) - len(x.lstrip(" ")) for x in band if x), default=0)
    return [x[indent:] for x in band]


def wrap_text_diagram(art: str, width: int) -> str:
    """The drawing unchanged if it fits `width` columns, else cut into stacked bands."""
    lines = art.rstrip("\n").split("\n")
    rows = [_cells(line.rstrip()) for line in lines]
    total = max((len(r) for r in rows), default=0)
    if total <= width:
        return "\n".join(line.rstrip() for line in lines)
    bands: list[list[str]] = []
    start = 0
    while start < total:
        end = total if total - start <= width else _best_cut(rows, start, width)
        total = max(len(r) for r in rows)
        band = _tidy(["".join(r[start:end]) for r in rows])
        if band:
            bands.append(band)
        start = end
    out: list[str] = []
    for i, band in enumerate(bands):
        if i:
            out += ["", CONTINUED, ""]
        out += band
    return "\n".join(out)


def wrap_fenced_diagrams(markdown: str, width: int) -> str:
    """Every fenced code block of a Markdown text, fitted to `width` columns."""
    def fit(m: re.Match[str]) -> str:
        indent, fence, info, body = m.group(1), m.group(2), m.group(3), m.group(4)
        return f"{indent}{fence}{info}\n{wrap_text_diagram(body, width)}\n{indent}{fence}"

    return _FENCE_RE.sub(fit, markdown)
