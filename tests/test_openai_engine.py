"""A whole interview through the engine on the OpenAI-compatible client and the fake Chat Completions server.

The scripted model is the same one the Anthropic tests use (wrapped for this
fake), so the engine sees the same answers whichever provider is configured.
"""
from __future__ import annotations

import pytest

from bot.app import build_engine
from bot.llm_openai import OpenAILLM
from bot.messages import Kind
from bot.sections import DESIGN_SECTIONS
from bot.state import Phase, ThreadRef
from bot.store import MemoryStore
from tests.fakes.fake_openai import FakeOpenAI, from_anthropic_responder
from tests.fakes.llm_script import interview_responder
from tests.fakes.platform import reply, start
from tests.fakes.sinks import RecordingSink
from tests.test_llm_openai import openai_settings

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T-openai")


@pytest.mark.parametrize("tools", [True, False], ids=["tools", "no-tools"])
async def test_whole_interview_on_an_openai_compatible_server(tools):
    async with FakeOpenAI(responder=from_anthropic_responder(interview_responder), tools=tools) as fake:
        settings = openai_settings(fake.base_url)
        engine = build_engine(settings, llm=OpenAILLM(settings), store=MemoryStore())
        sink = RecordingSink()
        try:
            assert (await start(engine, REF, "Design a URL shortener", user="ana", sink=sink, event_id="e1")).accepted
            assert len(sink.of(Kind.QUESTIONS)) == 1 and sink.partials
            sink.clear()
            await reply(engine, REF, "100M links a month", user="ben", sink=sink, event_id="e2")
            order = [m.section for m in sink.messages if m.kind is Kind.SECTION]
            assert order == list(DESIGN_SECTIONS)
            diagram = next(m for m in sink.messages if m.section == "diagram").markdown
            assert "Load Balancer" in diagram and '"nodes"' not in diagram
            sink.clear()
            await reply(engine, REF, "New requirement: add rate limiting per user", user="ana", sink=sink,
                                        event_id="e3")
            assert "Rate Limiter" in sink.messages[0].markdown
            sink.clear()
            await reply(engine, REF, "end", user="ana", sink=sink, event_id="e4")
            assert "That's a wrap" in sink.text()
            state = await engine.store.load(REF.key(engine.store.prefix))
            assert state.phase is Phase.ENDED
            assert state.usage.calls == fake.served and state.usage.output_tokens > 0
            assert all(r["stream"] and r["model"] == "fake-model" for r in fake.requests)
        finally:
            await engine.llm.close()


@pytest.mark.parametrize("tools", [True, False], ids=["tools", "no-tools"])
async def test_invalid_graph_is_repaired_through_tools_or_json_text(tools):
    import json

    from bot.prompts import Prompts
    from bot.state import Usage
    from bot.whiteboard import WhiteboardMaker
    from tests.fakes.llm_script import URL_GRAPH

    async with FakeOpenAI(responder=from_anthropic_responder(interview_responder), tools=tools) as fake:
        settings = openai_settings(fake.base_url)
        llm = OpenAILLM(settings)
        maker = WhiteboardMaker(llm, Prompts(settings.prompts_dir), png=False)
        broken = dict(URL_GRAPH, edges=[{"source": "client", "target": "nowhere"}])
        usage = Usage()
        board = await maker.build("```graph\n" + json.dumps(broken) + "\n```\nThe story.", usage)
        await llm.close()
    assert board.graph is not None and not board.fallback and "Load Balancer" in board.markdown
    repair = fake.requests[-1]
    assert ("tools" in repair) is tools
    if not tools:
        assert "```json" in repair["messages"][-1]["content"]
    assert usage.calls == 1 and usage.output_tokens > 0
