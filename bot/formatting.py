"""Pure text helpers shared by every adapter.

Splitting lives here, not in an adapter, because both platforms have a
message-size limit and the hard part (never breaking a code fence) is the same.
"""
from __future__ import annotations

import re

FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
ZWSP = "\u200b"

Fence = tuple[str, str]   # (marker such as ``` or ````, info string such as "python")


def _fence_open(line: str) -> Fence | None:
    """(marker, info) if the line is a fence line, else None."""
    m = FENCE_RE.match(line)
    if not m:
        return None
    return m.group(2), m.group(3).strip()


def _fence_after(line: str, fence: Fence | None) -> Fence | None:
    """Fence state after `line`, given the state before it."""
    opened = _fence_open(line)
    if opened is None:
        return fence
    if fence is None:
        return opened
    marker, info = opened
    if marker[0] == fence[0][0] and len(marker) >= len(fence[0]) and not info:
        return None
    return fence


def split_markdown(text: str, limit: int) -> list[str]:
    """Split Markdown into chunks of at most `limit` characters.

    Prefers paragraph boundaries, then line boundaries, then (for a single
    line longer than a chunk can hold) a hard cut.  A code fence is never left
    open across chunks: the chunk closes it and the next reopens it with the
    same language tag, so each message renders on its own.
    """
    if limit < 40:
        raise ValueError("limit too small to split Markdown safely")
    text = text.strip("\n")
    if len(text) <= limit:
        return [text] if text.strip() else []

    # Pre-cut overlong lines so that any single piece fits a chunk together
    # with a reopened fence and its closing marker.
    pieces: list[tuple[str, Fence | None]] = []  # (line, fence state after it)
    fence: Fence | None = None
    for line in text.split("\n"):
        room = limit - ((2 * len(fence[0]) + len(fence[1]) + 2) if fence else 0)
        after = _fence_after(line, fence)
        if len(line) > room:
            cut = [(line[j:j + room], fence) for j in range(0, len(line), room)]
            cut[-1] = (cut[-1][0], after)
            pieces.extend(cut)
        else:
            pieces.append((line, after))
        fence = after

    def render(lines: list[tuple[str, Fence | None]], opened: Fence | None) -> str:
        body = ([opened[0] + opened[1]] if opened else []) + [ln for ln, _ in lines]
        end = lines[-1][1] if lines else opened
        if end is not None:
            body.append(end[0])
        return "\n".join(body)

    chunks: list[str] = []

    def emit(lines: list[tuple[str, Fence | None]], opened: Fence | None) -> None:
        # Skip chunks that would hold nothing but whitespace or fence markers.
        if any(ln.strip() and _fence_open(ln) is None for ln, _ in lines):
            chunks.append(render(lines, opened).strip("\n"))

    cur: list[tuple[str, Fence | None]] = []
    start: Fence | None = None   # fence open when `cur` began
    queue = list(reversed(pieces))
    while queue:
        piece = queue.pop()
        if len(render(cur + [piece], start)) <= limit:
            cur.append(piece)
            continue
        fence_now = piece[1]
        cap = limit - ((2 * len(fence_now[0]) + len(fence_now[1]) + 2) if fence_now else 0)
        if cur and len(piece[0]) >= cap and _fence_open(piece[0]) is None:
            # A very long line: fill what is left of this chunk with its head
            # rather than leave a short chunk behind.
            room = limit - len(render(cur + [("", piece[1])], start))
            if room >= 20:
                cur.append((piece[0][:room], piece[1]))
                queue.append((piece[0][room:], piece[1]))
                emit(cur, start)
                start, cur = piece[1], []
                continue
        # Break before this piece: at the last blank line outside a fence if
        # that keeps the chunk at least a third full, else right here.
        cut_at = None
        for idx in range(len(cur) - 1, 0, -1):
            if not cur[idx][0].strip() and cur[idx][1] is None and cur[idx - 1][1] is None:
                cut_at = idx
                break
        if cut_at is not None and len(render(cur[:cut_at], start)) >= limit // 3:
            head, tail = cur[:cut_at], cur[cut_at + 1:]
        else:
            head, tail = cur, []
        emit(head, start)
        if head:
            start = head[-1][1]
        cur = tail
        if cur and len(render(cur + [piece], start)) > limit:
            emit(cur, start)
            start = cur[-1][1]
            cur = []
        cur.append(piece)
    if cur:
        emit(cur, start)
    return chunks


def open_fence(markdown: str) -> Fence | None:
    """The code fence still open at the end of the text, if any."""
    fence: Fence | None = None
    for line in markdown.split("\n"):
        fence = _fence_after(line, fence)
    return fence


def preview_chunk(markdown: str, limit: int) -> str:
    """The first message's worth of text still being written, any open code fence closed.

    A preview is cut wherever the model happens to be, often inside a code
    block; closing the fence keeps the rest of the message from rendering as code.
    """
    fence = open_fence(markdown)
    text = markdown if fence is None else markdown.rstrip("\n") + "\n" + fence[0]
    return text if len(text) <= limit else split_markdown(text, limit)[0]


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
