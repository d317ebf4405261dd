"""Text and Markdown files as the problem or an answer; other files get a clear word and lose nothing."""
from __future__ import annotations

import uuid

from bot.inbound import EventKind, Inbound, InboundAttachment, ReceiptKind
from bot.messages import Kind
from bot.state import ThreadRef
from tests.fakes.platform import start, submit

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T-att")


def md(name: str, text: str) -> InboundAttachment:
    return InboundAttachment(filename=name, mime="text/markdown", size=len(text.encode()), text=text)


async def test_a_markdown_file_is_the_problem(engine, fake_llm, sink):
    event = Inbound(kind=EventKind.START, ref=REF, event_id="a1", author="ana",
                    attachments=[md("problem.md", "# Design a ticket booking system\nFor 10k concerts a year.")])
    receipt = await submit(engine, event, sink)
    assert receipt.kind is ReceiptKind.QUEUED
    state = await engine.store.load(REF.key())
    assert state.problem.startswith("# Design a ticket booking system") and "10k concerts" in state.problem


async def test_a_file_too_long_or_not_text_is_refused_with_the_reason(engine, fake_llm, sink):
    big = Inbound(kind=EventKind.START, ref=REF, event_id="a2",
                  attachments=[md("huge.md", "x" * (engine.settings.max_attachment_chars + 1))])
    receipt = await submit(engine, big, sink)
    assert receipt.kind is ReceiptKind.REFUSED and "huge.md" in receipt.text and "20,000" in receipt.text
    image = Inbound(kind=EventKind.START, ref=REF, event_id="a3", text="Design a chat app",
                    attachments=[InboundAttachment(filename="board.png", mime="image/png", size=1000)])
    receipt = await submit(engine, image, sink)
    assert receipt.kind is ReceiptKind.REFUSED and "board.png" in receipt.text and ".md" in receipt.text
    assert fake_llm.requests == []


async def test_an_answer_in_a_file_and_a_picture_beside_it(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    reply = Inbound(kind=EventKind.REPLY, ref=REF, event_id=uuid.uuid4().hex, author="ben", text="see the file",
                    attachments=[md("answers.md", "100M links a month, p99 50 ms"),
                                 InboundAttachment(filename="photo.jpg", mime="image/jpeg", size=5000)])
    await submit(engine, reply, sink)
    assert "photo.jpg" in sink.messages[0].markdown and sink.messages[0].kind is Kind.NOTICE
    state = await engine.store.load(REF.key())
    assert state.answers[0].text == "see the file\n\n100M links a month, p99 50 ms"
    design = fake_llm.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert "100M links a month" in design


async def test_only_a_picture_says_why_and_changes_nothing(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    n = len(fake_llm.requests)
    await submit(engine, Inbound(kind=EventKind.REPLY, ref=REF, event_id=uuid.uuid4().hex,
                                 attachments=[InboundAttachment(filename="w.png", mime="image/png", size=9)]), sink)
    assert len(sink.messages) == 1 and "w.png" in sink.messages[0].markdown
    assert len(fake_llm.requests) == n
    assert (await engine.store.load(REF.key())).answers == []
