"""LivePreviews: first text at once, edits throttled, the preview handed back for the final edit."""
from __future__ import annotations

from bot.formatting import open_fence
from bot.progress import LivePreviews


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


async def test_first_partial_posts_at_once_then_edits_are_throttled():
    clock, calls = Clock(), []

    async def create(text, stream_id):
        calls.append(("create", text))
        return "m1"

    async def edit(handle, text):
        calls.append(("edit", handle, text))

    p = LivePreviews(create, edit, min_interval=1.0, limit=100, clock=clock)
    await p.partial("s", "Hello")
    assert calls == [("create", "Hello …")]
    clock.t = 0.5
    await p.partial("s", "Hello there")
    assert len(calls) == 1                      # too soon: skipped
    clock.t = 1.1
    await p.partial("s", "Hello there, friend")
    assert calls[-1] == ("edit", "m1", "Hello there, friend …")
    assert p.wait_before_final_edit("s") > 0
    assert p.take("s") == "m1" and p.take("s") is None
    assert (p.creates, p.edits) == (1, 1)


async def test_preview_is_cut_to_the_limit_with_fences_closed():
    shown = []

    async def create(text, stream_id):
        shown.append(text)
        return 1

    async def edit(handle, text):
        shown.append(text)

    p = LivePreviews(create, edit, min_interval=0, limit=120)
    await p.partial("s", "### Diagram\n```text\n" + "│ box │\n" * 40)
    assert len(shown[0]) <= 120 and open_fence(shown[0]) is None
    await p.partial("s", "   ")               # whitespace only: nothing to show
    assert len(shown) == 1
