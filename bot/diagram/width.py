"""Display width: every script drawn in its real width, right-to-left text kept in its place.

Chinese, Japanese, Korean and most emoji take two columns of a monospaced font; the canvas
puts such a character in one cell and an empty string in the next, so a row joins to text
of the right width.  Right-to-left runs (Hebrew, Arabic) are wrapped in a first-strong
isolate (U+2068 ... U+2069) so the reader's bidi algorithm reorders them inside their own
span only: box borders and neighbouring boxes never move.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from wcwidth import wcwidth

FSI, PDI = "\u2068", "\u2069"
_RTL = {"R", "AL"}


@functools.lru_cache(maxsize=8192)
def char_width(ch: str) -> int:
    """Columns one character takes: 0, 1 or 2."""
    return max(0, wcwidth(ch))


@functools.lru_cache(maxsize=8192)
def dw(text: str) -> int:
    """Display width of text (no control characters in it)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def has_rtl(text: str) -> bool:
    return not text.isascii() and any(unicodedata.bidirectional(ch) in _RTL for ch in text)


@functools.lru_cache(maxsize=4096)
def cells(text: str) -> tuple[str, ...]:
    """One canvas cell per column: a wide character, then "" for the column it also covers.
    Text with a right-to-left run is isolated (zero-width marks in its first and last cell)."""
    if text.isascii():
        return tuple(text)
    out: list[str] = []
    for ch in text:
        w = char_width(ch)
        if w == 0:
            if out:
                out[-1] += ch
            continue
        out.append(ch)
        if w == 2:
            out.append("")
    if out and has_rtl(text):
        out[0] = FSI + out[0]
        last = len(out) - 1 if out[-1] else len(out) - 2
        out[last] += PDI
    return tuple(out)


def ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - dw(text))


def center(text: str, width: int) -> str:
    pad = max(0, width - dw(text))
    return " " * (pad // 2) + text + " " * (pad - pad // 2)


def _split_word(word: str, width: int) -> list[str]:
    parts, cur, cw = [], "", 0
    for ch in word:
        w = char_width(ch)
        if cur and cw + w > width:
            parts.append(cur)
            cur, cw = "", 0
        cur += ch
        cw += w
    return parts + [cur] if cur else parts


@functools.lru_cache(maxsize=4096)
def wrap(text: str, width: int, indent: str = "", breaks: bool = True) -> tuple[str, ...]:
    """Greedy word wrap by display width (spacing inside a line kept); words wider than the line
    are split when `breaks`; lines after the first start with `indent`."""
    width = max(1, width)
    text = text.strip()
    if dw(text) <= width and "\n" not in text:
        return (text,)
    lines: list[str] = []
    cur, cw, gap = "", 0, ""
    for tok in re.findall(r"\S+|\s+", text):
        if tok.isspace():
            gap = tok
            continue
        room = width - (dw(indent) if lines else 0)
        wlen = dw(tok)
        if cur and cw + len(gap) + wlen <= room:
            cur, cw = cur + gap + tok, cw + len(gap) + wlen
            continue
        if cur:
            lines.append(cur)
            room = width - dw(indent)
        pieces = _split_word(tok, max(1, min(room, width - dw(indent)))) if breaks and wlen > room else [tok]
        lines += pieces[:-1]
        cur, cw = pieces[-1], dw(pieces[-1])
    if cur or not lines:
        lines.append(cur)
    return tuple(lines[:1] + [indent + ln for ln in lines[1:]])
