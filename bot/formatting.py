"""Pure text helpers shared by every adapter.

Splitting lives here, not in an adapter, because both platforms have a
message-size limit and the hard part (never breaking a code fence) is the same.
"""
from __future__ import annotations

import re

FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
ZWSP = "\u200b"


def _fence_open(line: str) -> tuple[str, str] | None:
    """Return (fence, info) if the line opens or closes a fenced block."""
    m = FENCE_RE.match(line)
    if not m:
        return None
    return m.group(2), m.group(3).strip()


def split_markdown(text: str, limit: int) -> list[str]:
    """Split Markdown into chunks of at most `limit` characters.

    Prefers paragraph boundaries, then line boundaries, then (for a single
    line longer than the limit) a hard cut.  A code fence is never left open
    across chunks: the chunk closes it and the next reopens it with the same
    language tag, so each message renders on its own.
    """
    if limit < 20:
        raise ValueError("limit too small to split Markdown safely")
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []

    chunks: list[str] = []
    cur: list[str] = []          # lines of the chunk being built
    cur_len = 0
    fence: tuple[str, str] | None = None   # (marker, info) of the open fence

    def reopen() -> str:
        assert fence is not None
        return fence[0] + fence[1]

    def flush() -> None:
        nonlocal cur, cur_len
        body = list(cur)
        if fence is not None:
            body.append(fence[0])
        chunk = "\n".join(body).strip("\n")
        if chunk.strip() and chunk.strip() != (fence[0] if fence else None):
            chunks.append(chunk)
        cur = [reopen()] if fence is not None else []
        cur_len = len(cur[0]) + 1 if cur else 0

    def room_for(line: str) -> int:
        closing = len(fence[0]) + 1 if fence is not None else 0
        return limit - cur_len - closing - len(line) - (1 if cur else 0)

    lines = text.split("\n")
    for i, line in enumerate(lines):
        opened = _fence_open(line)
        # Prefer a paragraph break: if this is a blank line and the next
        # paragraph would not fit, flush here.
        pieces = [line]
        # A single line longer than what a chunk can hold: hard-cut it.
        max_line = limit - (2 * (len(fence[0]) + len(fence[1]) + 1) if fence else 0) - 2
        if len(line) > max_line:
            pieces = [line[j:j + max_line] for j in range(0, len(line), max_line)]
        for piece in pieces:
            if room_for(piece) < 0:
                # Walk back to the last blank line outside a fence if it keeps
                # the chunk reasonably full; otherwise cut at this line.
                if fence is None:
                    cut = _last_blank(cur)
                    if cut is not None and cut > len(cur) // 3:
                        head, tail = cur[:cut], cur[cut + 1:]
                        cur = head
                        flush()
                        cur = tail
                        cur_len = sum(len(x) + 1 for x in cur)
                        if room_for(piece) < 0:
                            flush()
                    else:
                        flush()
                else:
                    flush()
            cur.append(piece)
            cur_len += len(piece) + 1
        if opened is not None:
            if fence is None:
                fence = opened
            elif opened[0][0] == fence[0][0] and len(opened[0]) >= len(fence[0]) and not opened[1]:
                fence = None
        _ = i
    # Final chunk: an unclosed fence in the source stays as the author wrote it.
    if cur:
        chunk = "\n".join(cur).strip("\n")
        if chunk.strip() and (fence is None or chunk.strip() != reopen()):
            chunks.append(chunk)
    return chunks


def _last_blank(lines: list[str]) -> int | None:
    """Index of the last blank line that is not inside a code fence."""
    fence = None
    last = None
    for idx, line in enumerate(lines):
        opened = _fence_open(line)
        if opened is not None:
            if fence is None:
                fence = opened
            elif opened[0][0] == fence[0][0] and not opened[1]:
                fence = None
            continue
        if fence is None and not line.strip():
            last = idx
    return last


_MASS_MENTION = re.compile(r"@(everyone|here|channel|all)\b", re.IGNORECASE)


def neutralize_mentions(text: str) -> str:
    """Break `@everyone`-style words so no platform turns them into pings.

    Adapters also send with mentions disabled; this is the belt to that
    brace, and it keeps the text readable (a zero-width space after the @).
    """
    return _MASS_MENTION.sub(lambda m: "@" + ZWSP + m.group(1), text)


def truncate(text: str, limit: int, marker: str = "…") -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker
