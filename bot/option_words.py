"""Taking a `key: value` option out of free command text ('level: staff', '--pace interactive')."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_TOKEN = re.compile(r"[^\s,;:=()\[\]]+")
_STOP = re.compile(r"\s*[,;:=()\[\]]")


def _value_tokens(tail: str, limit: int) -> list[tuple[int, int]]:
    """Spans of up to `limit` words at the start of `tail`, stopping at punctuation."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while len(spans) < limit:
        gap = re.match(r"\s*", tail[pos:])
        start = pos + (gap.end() if gap else 0)
        token = _TOKEN.match(tail, start)
        if token is None or (spans and start == pos):
            break
        spans.append((token.start(), token.end()))
        pos = token.end()
        if _STOP.match(tail, pos):
            break
    return spans


def take_keyword(text: str, key: str, parse: Callable[[str], T | None], *, max_words: int = 3) -> tuple[T | None, str]:
    """(value, text without 'key: value'), trying the longest run of words that `parse` accepts.

    'Design a cache level: L6 pace: interactive' with key 'level' -> (STAFF, 'Design a cache pace: interactive').
    """
    pattern = re.compile(rf"(?:^|(?<=\s))(?:--)?{re.escape(key)}(?:\s*[:=]\s*|\s+)", re.IGNORECASE)
    for match in pattern.finditer(text):
        tail = text[match.end():]
        spans = _value_tokens(tail, max_words)
        for cut in range(len(spans), 0, -1):
            value = parse(tail[spans[0][0]:spans[cut - 1][1]])
            if value is not None:
                rest = text[:match.start()] + " " + tail[spans[cut - 1][1]:].lstrip(" ,;")
                return value, " ".join(rest.split()).strip(" ,;")
    return None, text
