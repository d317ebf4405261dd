"""Whatever the model writes: drift styles, cut replies and refusals, through the engine as it is today.

Real SDK against the fake model server; the engine is not changed here, so
these tests show what the parser and the model client give it for free.
"""
from __future__ import annotations

import pytest

from bot.app import build_engine
from bot.messages import Action, Kind
from bot.sections import DESIGN_SECTIONS, SectionParser
from bot.state import Phase, ThreadRef
from bot.store import MemoryStore
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import Reply
from tests.fakes.llm_script import DRIFT_STYLES, SECTION_BODIES, design_text, refusal_reply
from tests.fakes.platform import press, reply, start  # noqa: F401
from tests.fakes.sinks import RecordingSink

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="drift")


async def answer_questions(engine, sink) -> None:
    await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)
    sink.clear()


@pytest.mark.parametrize("style", [s for s in DRIFT_STYLES if s != "no_titles"])
async def test_every_section_is_posted_once_in_order_with_no_extra_call(engine, fake_llm, sink, style):
    await answer_questions(engine, sink)
    fake_llm.replies.append(Reply(text=design_text(style), chunk_chars=9))
    await reply(engine, REF, "100M links a month", user="ana", sink=sink)
    assert sink.sections() == list(DESIGN_SECTIONS)
    assert len(fake_llm.requests) == 2            # the questions and the design, nothing else
    diagram = next(m for m in sink.messages if m.section == "diagram")
    assert "```text" in diagram.markdown and diagram.attachments is not None
    assert sink.text().count("Body of") == 0 and sink.text().count(SECTION_BODIES["closing"]) == 1
    state = await engine.store.load(REF.key(engine.store.prefix))
    assert state.phase is Phase.DISCUSSING and state.graph is not None


def test_no_titles_gives_the_engine_the_text_as_intro():
    parser = SectionParser(DESIGN_SECTIONS)
    text = design_text("no_titles")
    out = parser.feed(text) + parser.finish()
    # The only title-like line is the "**Assumptions**" label: everything before it is the intro.
    assert [sid for sid, _ in out] == ["assumptions"]
    assert parser.intro == text[: text.index("**Assumptions**")].strip()
    assert SECTION_BODIES["deep_dive"] in parser.intro


async def test_a_design_cut_by_max_tokens_is_continued_and_posted_whole(fake_llm, sink):
    settings = make_settings(fake_llm.base_url, anthropic_max_tokens=256, anthropic_max_continuations=5)
    engine = build_engine(settings, store=MemoryStore())
    try:
        await answer_questions(engine, sink)
        await reply(engine, REF, "100M links a month", user="ana", sink=sink)
    finally:
        await engine.llm.close()
    design_calls = [r for r in fake_llm.requests if r["messages"][-1]["role"] == "assistant"]
    assert len(design_calls) >= 2                  # the design needed continuations
    assert sink.sections() == list(DESIGN_SECTIONS)
    for sid in ("scope", "api", "closing"):
        posted = next(m.markdown for m in sink.messages if m.section == sid)
        assert SECTION_BODIES[sid].splitlines()[0] in posted


async def test_a_refusal_is_explained_and_retry_carries_on(engine, fake_llm, sink):
    await answer_questions(engine, sink)
    fake_llm.replies.append(refusal_reply("I'd rather not"))
    await reply(engine, REF, "100M links a month", user="ana", sink=sink)
    error = sink.messages[-1]
    assert error.kind is Kind.ERROR and error.actions == [Action.RETRY]
    assert "declined" in error.markdown and "retry" in error.markdown
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert sink.sections() == list(DESIGN_SECTIONS)


async def test_questions_in_markdown_drift_are_found(engine, fake_llm):
    sink = RecordingSink()
    fake_llm.replies.append(Reply(text="## Restating the problem\nA tiny-link service.\n\n### Clarifying questions\n"
                                       "1. **Scale**: how many links a month\n2. **Features**: custom aliases\n"))
    await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)
    state = await engine.store.load(REF.key(engine.store.prefix))
    assert state.questions == ["**Scale**: how many links a month", "**Features**: custom aliases"]
    assert state.intro == "## Restating the problem\nA tiny-link service."
    assert len(fake_llm.requests) == 1


async def test_a_wide_freehand_diagram_is_wrapped_to_the_diagram_width(engine, fake_llm, sink):
    await answer_questions(engine, sink)
    bodies = dict(SECTION_BODIES)
    bodies["diagram"] = "```graph\n{not json\n```\nAs you can see in the diagram..."
    wide = " --> ".join(f"[ Service number {i} ]" for i in range(6))
    fake_llm.replies.extend([Reply(text=design_text("headings", bodies)), Reply(tool_input={"nodes": "nope"}),
                             Reply(text=f"```\n{wide}\n{wide}\n```\nLegend: boxes are services.")])
    await reply(engine, REF, "100M links a month", user="ana", sink=sink)
    diagram = next(m for m in sink.messages if m.section == "diagram").markdown
    drawn = diagram.split("```")[1].splitlines()[1:]
    assert "freehand" in diagram and "Service number 5" in diagram
    assert len(wide) > engine.settings.diagram_width >= max(len(line) for line in drawn)
