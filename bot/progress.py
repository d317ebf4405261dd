"""Live previews of text the model is still writing, within platform limits.

Both chat platforms punish rapid edits, yet users want to see text within a
second of the model's first token.  `LivePreviews` posts a placeholder on the
first partial at once, then edits it no more often than `min_interval`, and
hands the message back when the final text is ready so the adapter can edit
it in place instead of posting a duplicate.  Platform calls are injected, so
the policy is the same (and tested once) for every adapter.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from .formatting import preview_chunk

Create = Callable[[str, str], Awaitable[Any]]   # (text, stream_id) -> the platform's message
Edit = Callable[[Any, str], Awaitable[None]]


@dataclass
class _Preview:
    handle: Any
    last_edit: float
    text: str


class LivePreviews:
    def __init__(self, create: Create, edit: Edit, *, min_interval: float = 1.2, limit: int = 1900,
                 clock: Callable[[], float] = time.monotonic):
        self._create = create
        self._edit = edit
        self.min_interval = min_interval
        self.limit = limit
        self._clock = clock
        self._previews: dict[str, _Preview] = {}
        self.creates = 0
        self.edits = 0

    def _fit(self, text: str) -> str:
        return preview_chunk(text.rstrip() + " …", self.limit)

    async def partial(self, stream_id: str, markdown: str) -> None:
        if not markdown.strip():
            return
        now = self._clock()
        preview = self._previews.get(stream_id)
        if preview is None:
            text = self._fit(markdown)
            handle = await self._create(text, stream_id)
            self.creates += 1
            self._previews[stream_id] = _Preview(handle, now, text)
            return
        if now - preview.last_edit < self.min_interval:
            return
        text = self._fit(markdown)
        if text == preview.text:
            return
        await self._edit(preview.handle, text)
        self.edits += 1
        preview.last_edit, preview.text = now, text

    def take(self, stream_id: str | None) -> Any | None:
        """The preview message for this stream (now finished), if one was shown."""
        if stream_id is None:
            return None
        preview = self._previews.pop(stream_id, None)
        return None if preview is None else preview.handle

    def wait_before_final_edit(self, stream_id: str | None) -> float:
        """Seconds to wait so the final edit keeps to the same pace."""
        preview = self._previews.get(stream_id) if stream_id else None
        if preview is None:
            return 0.0
        return max(0.0, self.min_interval - (self._clock() - preview.last_edit))
