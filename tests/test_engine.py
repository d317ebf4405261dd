"""The interview state machine end to end: real SDK, fake model server, real Redis."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.inbound import ReceiptKind
from bot.messages import Action, Kind
from bot.sections import DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS
from bot.state import Mode, Phase, ThreadRef
from bot.store import StoreUnavailable
from tests.fakes.fake_anthropic import Reply
from tests.fakes.llm_script import SECTION_BODIES, URL_GRAPH, questions_reply, sections_text
from tests.fakes.platform import press, reply, start
from tests.fakes.sinks import RecordingSink

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T1")


async def phase(engine, ref=REF) -> Phase:
    return (await engine.store.load(ref.key(engine.store.prefix))).phase


def task_of(request: dict) -> str:
    content = request["messages"][-1]["content"]
    text = content if isinstance(content, str) else content[-1]["text"]
    return text.splitlines()[0]


async def test_whole_interview_on_redis(redis_engine, fake_llm):
    engine, sink = redis_engine, RecordingSink()
    assert (await start(engine, REF, "Design a URL shortener", user="ana", sink=sink, event_id="e1")).accepted
    q = sink.of(Kind.QUESTIONS)
    assert len(q) == 1 and q[0].actions == [Action.SKIP]
    assert 2 <= q[0].markdown.count("?") and "1." in q[0].markdown and "3." in q[0].markdown
    assert sink.partials, "the questions streamed as they were written"
    # The bot pauses: nothing but the questions, and the state says so.
    assert [m.kind for m in sink.messages] == [Kind.QUESTIONS]
    assert await phase(engine) is Phase.WAITING_ANSWERS
    assert task_of(fake_llm.requests[-1]) == "Task: clarifying questions."

    sink.clear()
    await reply(engine, REF, "About 100M links a month, custom aliases, p99 50ms", user="ben", sink=sink,
                                event_id="e2")
    order = [m.section for m in sink.messages if m.kind is Kind.SECTION]
    assert order == list(DESIGN_SECTIONS)
    by_id = {m.section: m for m in sink.messages}
    assert by_id["functional"].markdown.startswith("### Functional requirements")
    assert "(Code Generator)" in by_id["functional"].markdown
    diagram = by_id["diagram"].markdown
    assert "```" in diagram and "Legend" in diagram and "Load Balancer" in diagram
    assert "As you can see in the diagram" in diagram
    assert '"nodes"' not in diagram, "the raw JSON is never shown"
    assert by_id["closing"].actions == [Action.CURVEBALL, Action.END]
    design_req = fake_llm.requests[-1]
    assert task_of(design_req) == "Task: present the design."
    from bot.framing import read_blocks
    answers = [b for b in read_blocks(design_req["messages"][-1]["content"][-1]["text"]) if b.kind == "answer"]
    assert [(b.sender, b.text) for b in answers] == [("ben", "About 100M links a month, custom aliases, p99 50ms")]
    assert await phase(engine) is Phase.DISCUSSING

    sink.clear()
    await reply(engine, REF, "New requirement: add rate limiting per user", user="ana", sink=sink, event_id="e3")
    assert sink.messages[0].kind is Kind.ANSWER and "Rate Limiter" in sink.messages[0].markdown
    updated = [m for m in sink.messages if m.section == "diagram"]
    assert len(updated) == 1 and "Updated diagram" in updated[0].markdown
    assert "Rate Limiter" in updated[0].markdown
    state = await engine.store.load(REF.key(engine.store.prefix))
    assert state.revisions == 1 and any(n["id"] == "rl" for n in state.graph["nodes"])
    # The conversation so far was read from the prompt cache on this turn.
    assert state.usage.cache_read_tokens > 0

    sink.clear()
    await reply(engine, REF, "describe the diagram", user="ben", sink=sink, event_id="e4")
    assert [m.kind for m in sink.messages] == [Kind.ANSWER]
    assert "As you can see in the diagram" in sink.messages[0].markdown

    sink.clear()
    await reply(engine, REF, "end", user="ana", sink=sink, event_id="e5")
    assert "That's a wrap" in sink.text() and await phase(engine) is Phase.ENDED
    sink.clear()
    await reply(engine, REF, "one more thing", user="ana", sink=sink)
    await reply(engine, REF, "and another", user="ana", sink=sink)
    assert len(sink.messages) == 1 and "has ended" in sink.messages[0].markdown


@pytest.mark.parametrize("count", [0, 1])
async def test_too_few_questions_are_asked_again(engine, fake_llm, sink, count):
    bad = "Here we go." + ("\n<<<questions>>>\n1. Just one?" if count else "")
    fake_llm.replies.extend([Reply(text=bad), Reply(text=questions_reply(2))])
    await start(engine, REF, "Design a chat app", sink=sink)
    assert task_of(fake_llm.requests[-1]) == "Task: clarifying questions, again."
    state = await engine.store.load(REF.key())
    assert len(state.questions) == 2 and state.phase is Phase.WAITING_ANSWERS


async def test_questions_filled_with_defaults_when_model_never_complies(engine, fake_llm, sink):
    fake_llm.replies.extend([Reply(text="No questions, sorry."), Reply(text="Still none.")])
    await start(engine, REF, "Design a chat app", sink=sink)
    state = await engine.store.load(REF.key())
    assert 2 <= len(state.questions) <= 3
    assert "scale" in state.questions[0].lower()


async def test_five_questions_are_trimmed_to_three(engine, fake_llm, sink):
    fake_llm.replies.append(Reply(text=questions_reply(5)))
    await start(engine, REF, "Design a chat app", sink=sink)
    state = await engine.store.load(REF.key())
    assert len(state.questions) == 3
    assert "4." not in sink.of(Kind.QUESTIONS)[0].markdown
    assert len(fake_llm.requests) == 1


async def test_skip_continues_with_stated_assumptions(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    await press(engine, REF, Action.SKIP, user="ana", sink=sink, event_id="b1")
    assert sink.messages[0].kind is Kind.NOTICE and "assume" in sink.messages[0].markdown
    prompt = fake_llm.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert "skipped the questions" in prompt
    assert sink.sections() == list(DESIGN_SECTIONS)


async def test_you_decide_counts_as_skip(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "You decide!", sink=sink)
    assert (await engine.store.load(REF.key())).assumed_defaults


async def test_missing_sections_are_requested_once(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    partial = sections_text({k: v for k, v in SECTION_BODIES.items() if k not in ("api", "deep_dive")})
    fake_llm.replies.append(Reply(text=partial))
    sink.clear()
    await reply(engine, REF, "100M links", sink=sink)
    assert task_of(fake_llm.requests[-1]) == "Task: finish the design."
    assert "api, deep_dive" in fake_llm.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert set(sink.sections()) == set(DESIGN_SECTIONS)


async def test_section_still_missing_gets_a_notice_and_a_closing(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    partial = sections_text({k: v for k, v in SECTION_BODIES.items() if k not in ("deep_dive", "closing")})
    fake_llm.replies.extend([Reply(text=partial), Reply(text="I forgot the format, sorry")])
    sink.clear()
    await reply(engine, REF, "100M links", sink=sink)
    assert any("I skipped Deep dive" in m.markdown for m in sink.of(Kind.NOTICE))
    assert sink.messages[-1].actions == [Action.CURVEBALL, Action.END]
    assert await phase(engine) is Phase.DISCUSSING


async def test_empty_design_reply_fails_softly_and_retry_carries_on(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    fake_llm.replies.extend([Reply(fault="empty"), Reply(fault="empty")])
    sink.clear()
    await reply(engine, REF, "100M links", user="ana", sink=sink)
    assert sink.messages[-1].kind is Kind.ERROR and sink.messages[-1].actions == [Action.RETRY]
    state = await engine.store.load(REF.key())
    assert state.phase is Phase.WAITING_ANSWERS and state.pending.step == "design"
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert sink.sections() == list(DESIGN_SECTIONS)


async def test_model_failure_on_questions_keeps_state_and_retry_works(engine, fake_llm, sink):
    fake_llm.replies.extend([Reply(fault="529")] * 3)
    await start(engine, REF, "Design a URL shortener", sink=sink)
    assert sink.messages[-1].kind is Kind.ERROR and "overloaded" in sink.messages[-1].markdown
    assert "Nothing is lost" in sink.messages[-1].markdown
    state = await engine.store.load(REF.key())
    assert state.pending.step == "questions" and state.problem == "Design a URL shortener"
    sink.clear()
    await reply(engine, REF, "hello?", sink=sink)
    assert "retry" in sink.messages[-1].markdown
    await press(engine, REF, Action.RETRY, sink=sink)
    assert sink.of(Kind.QUESTIONS)
    assert await phase(engine) is Phase.WAITING_ANSWERS


async def test_failure_mid_design_keeps_posted_sections_and_retry_adds_the_rest(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    full = sections_text(SECTION_BODIES)
    cut = full.index("<<<section:api>>>") + 30
    fake_llm.replies.append(Reply(text=full, fault="midstream_overloaded", fault_after_chars=cut))
    sink.clear()
    await reply(engine, REF, "100M links", sink=sink)
    assert sink.sections() == ["scope", "functional", "non_functional"]
    assert sink.messages[-1].kind is Kind.ERROR
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert task_of(fake_llm.requests[-1]) == "Task: finish the design."
    assert sink.sections() == list(DESIGN_SECTIONS)[3:]
    assert await phase(engine) is Phase.DISCUSSING


async def test_failure_in_discussion_keeps_the_question_for_retry(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "skip", sink=sink)
    fake_llm.replies.append(Reply(text="partial", fault="midstream_disconnect", fault_after_chars=5))
    sink.clear()
    await reply(engine, REF, "Why Redis?", user="ana", sink=sink)
    assert sink.messages[-1].kind is Kind.ERROR and "connection" in sink.messages[-1].markdown
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert "Why Redis?" in fake_llm.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert sink.messages[-1].kind is Kind.ANSWER


async def test_bad_problem_text(engine, fake_llm, sink):
    assert (await start(engine, REF, "   ", sink=sink)).kind is ReceiptKind.REFUSED
    assert "/interview <problem>" in sink.messages[-1].markdown
    assert (await start(engine, REF, "x" * 2001, sink=sink)).kind is ReceiptKind.REFUSED
    assert "2,001" in sink.messages[-1].markdown and "2,000" in sink.messages[-1].markdown
    assert fake_llm.requests == [] and await engine.store.load(REF.key()) is None


async def test_long_answer_is_cut_with_a_notice(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    await reply(engine, REF, "y" * 5000, sink=sink)
    assert "5,000 characters" in sink.messages[0].markdown and "4,000" in sink.messages[0].markdown
    prompt = fake_llm.requests[-1]["messages"][-1]["content"][-1]["text"]
    assert "y" * 4000 in prompt and "y" * 4001 not in prompt


async def test_empty_and_unknown_thread_messages(engine, fake_llm, sink):
    assert (await reply(engine, REF, "hi", sink=sink)).kind is ReceiptKind.NOT_OURS
    assert sink.messages == []
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    await reply(engine, REF, "   ", sink=sink)
    assert "empty" in sink.messages[0].markdown
    assert await phase(engine) is Phase.WAITING_ANSWERS


async def test_duplicate_event_is_processed_once(redis_engine, fake_llm):
    sink = RecordingSink()
    await start(redis_engine, REF, "Design a URL shortener", sink=sink, event_id="cmd-1")
    assert (await start(redis_engine, REF, "Design a URL shortener", sink=sink, event_id="cmd-1")).kind is ReceiptKind.DUPLICATE
    await reply(redis_engine, REF, "100M", sink=sink, event_id="m-1")
    n = len(fake_llm.requests)
    await reply(redis_engine, REF, "100M", sink=sink, event_id="m-1")
    assert len(fake_llm.requests) == n
    assert len(sink.of(Kind.QUESTIONS)) == 1


async def test_concurrent_replies_are_handled_one_after_the_other(redis_engine, fake_llm):
    sink = RecordingSink()
    await start(redis_engine, REF, "Design a URL shortener", sink=sink)
    for r in list(fake_llm.replies):
        pass
    # Slow the design down so the second reply arrives while it is running.
    fake_llm.replies.append(Reply(text="Thanks!\n" + sections_text(SECTION_BODIES), tokens_per_second=4000))
    sink.clear()
    await asyncio.gather(
        reply(redis_engine, REF, "100M links", user="ana", sink=sink),
        reply(redis_engine, REF, "and p99 of 50ms please", user="ben", sink=sink),
    )
    kinds = [(m.kind, m.section) for m in sink.messages]
    # All ten sections come first, uninterrupted; the second reply is a discussion turn after them.
    assert [s for k, s in kinds[:10]] == list(DESIGN_SECTIONS)
    assert kinds[-1][0] is Kind.ANSWER
    state = await redis_engine.store.load(REF.key(redis_engine.store.prefix))
    assert state.phase is Phase.DISCUSSING


async def test_corrupt_state_gets_a_clear_message(redis_engine, fake_llm):
    sink = RecordingSink()
    key = REF.key(redis_engine.store.prefix)
    await redis_engine.store.client.set(key, "{broken")
    await reply(redis_engine, REF, "hello", sink=sink)
    assert sink.messages[0].kind is Kind.ERROR
    assert "couldn't read" in sink.messages[0].markdown and "/interview" in sink.messages[0].markdown
    assert await redis_engine.store.client.get(key) == "{broken", "nothing else was changed"
    # A new interview (a new thread) is a fresh start.
    other = REF.model_copy(update={"thread": "T2"})
    await start(redis_engine, other, "Design a URL shortener", sink=sink)
    assert await phase(redis_engine, other) is Phase.WAITING_ANSWERS


async def test_redis_going_away_loses_nothing(redis_engine, fake_llm, monkeypatch):
    sink = RecordingSink()
    await start(redis_engine, REF, "Design a URL shortener", sink=sink)
    store = redis_engine.store
    real_accept = store.accept
    calls = 0

    async def down(*a, **k):
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise StoreUnavailable("Redis is unreachable (ConnectionError)")
        return await real_accept(*a, **k)

    monkeypatch.setattr(store, "accept", down)
    sink.clear()
    receipt = await reply(redis_engine, REF, "100M links", sink=sink, wait=False)
    assert receipt.kind is ReceiptKind.QUEUED or receipt.kind.value == "held"
    await redis_engine.pipeline.idle()
    # The message was kept in memory and handled as soon as the store answered again.
    assert calls >= 4
    assert sink.sections() == list(DESIGN_SECTIONS)
    assert await phase(redis_engine) is Phase.DISCUSSING


async def test_store_down_tells_the_thread_only_when_it_is_ours(redis_engine, fake_llm, monkeypatch):
    from bot.inbound import EventKind, Inbound

    sink = RecordingSink()
    await start(redis_engine, REF, "Design a URL shortener", sink=sink)
    store = redis_engine.store
    real_accept = store.accept
    down = True

    async def flaky(*a, **k):
        if down:
            raise StoreUnavailable("Redis is unreachable (ConnectionError)")
        return await real_accept(*a, **k)

    monkeypatch.setattr(store, "accept", flaky)
    sink.clear()
    ours = await redis_engine.submit(Inbound(kind=EventKind.REPLY, ref=REF, event_id="h1", text="100M",
                                             bot_thread=True))
    stranger = await redis_engine.submit(Inbound(kind=EventKind.REPLY, ref=REF.model_copy(update={"thread": "X"}),
                                                 event_id="h2", text="chatter"))
    assert ours.kind is ReceiptKind.HELD and stranger.kind is ReceiptKind.HELD
    assert [m.kind for m in sink.messages] == [Kind.ERROR]
    assert "kept your message" in sink.messages[0].markdown
    down = False
    await redis_engine.pipeline.idle()
    assert sink.sections() == list(DESIGN_SECTIONS), "the held answer was handled once the store was back"


async def test_diagram_only_mode(engine, fake_llm, sink):
    await start(engine, REF, "a ride sharing app", mode=Mode.DIAGRAM, sink=sink)
    assert task_of(fake_llm.requests[0]) == "Task: interview-ready flow diagram."
    assert sink.sections() == list(DIAGRAM_ONLY_SECTIONS)
    assert "Legend" in sink.messages[0].markdown and "```" in sink.messages[0].markdown
    assert sink.messages[-1].actions == [Action.END]
    assert await phase(engine) is Phase.DISCUSSING
    sink.clear()
    await reply(engine, REF, "describe the diagram", sink=sink)
    assert sink.messages[-1].kind is Kind.ANSWER


async def test_invalid_graph_is_repaired_with_a_tool_call(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    bad_graph = json.loads(json.dumps(URL_GRAPH))
    bad_graph["edges"].append({"source": "api", "target": "nowhere", "label": "x"})
    bodies = dict(SECTION_BODIES)
    bodies["diagram"] = "```graph\n" + json.dumps(bad_graph) + "\n```\nAs you can see in the diagram..."
    fake_llm.replies.append(Reply(text=sections_text(bodies)))
    sink.clear()
    await reply(engine, REF, "100M", sink=sink)
    repair = [r for r in fake_llm.requests if r.get("tool_choice")]
    assert len(repair) == 1 and "nowhere" in repair[0]["messages"][-1]["content"][-1]["text"]
    diagram = [m for m in sink.messages if m.section == "diagram"][0].markdown
    assert "Legend" in diagram and "freehand" not in diagram


async def test_graph_that_stays_invalid_falls_back_to_a_labelled_text_diagram(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    bodies = dict(SECTION_BODIES)
    bodies["diagram"] = "```graph\n{not json\n```\nAs you can see in the diagram..."
    fake_llm.replies.extend([Reply(text=sections_text(bodies)), Reply(tool_input={"nodes": "nope"})])
    sink.clear()
    await reply(engine, REF, "100M", sink=sink)
    diagram = [m for m in sink.messages if m.section == "diagram"][0].markdown
    assert "freehand" in diagram and "| Client |" in diagram
    assert "As you can see in the diagram" in diagram


async def test_model_output_never_carries_mass_mentions(engine, fake_llm, sink):
    fake_llm.replies.append(Reply(text="Hey @everyone and @here!\n<<<questions>>>\n1. Scale @channel?\n2. Latency?"))
    await start(engine, REF, "Design a URL shortener", sink=sink)
    text = sink.text() + "".join(p for _, p in sink.partials)
    for word in ("@everyone", "@here", "@channel"):
        assert word not in text


async def test_export_gives_a_markdown_transcript_with_mermaid(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "100M links a month", user="ana", sink=sink)
    await reply(engine, REF, "Add rate limiting per user", user="ben", sink=sink)
    await reply(engine, REF, "end", sink=sink)
    sink.clear()
    await reply(engine, REF, "export", sink=sink)
    att = sink.messages[-1].attachments
    assert len(att) == 1 and att[0].filename == "design-a-url-shortener.md" and att[0].mime == "text/markdown"
    doc = att[0].data.decode()
    assert doc.startswith("# Mock system design interview: Design a URL shortener")
    assert "- ana: 100M links a month" in doc
    positions = [doc.index(f"## {DESIGN_SECTIONS[s]}") for s in DESIGN_SECTIONS]
    assert positions == sorted(positions)
    assert "```mermaid\n" in doc and "flowchart TD" in doc and "Rate Limiter" in doc
    assert "> Add rate limiting per user" in doc and "<<<" not in doc and '"nodes"' not in doc


async def test_random_problem_from_the_bank(engine, fake_llm, sink):
    from bot.problems import DIAGRAM_SYSTEMS, INTERVIEW_PROBLEMS
    from bot.texts import usage_help

    await start(engine, REF, "random", sink=sink)
    state = await engine.store.load(REF.key())
    assert state.problem in INTERVIEW_PROBLEMS
    assert state.problem in fake_llm.requests[0]["messages"][0]["content"][0]["text"]
    help_text = usage_help("/diagram")
    assert "`/diagram random`" in help_text
    assert sum(s in help_text for s in DIAGRAM_SYSTEMS) == 3


async def test_failed_diagram_mode_asks_for_retry_in_its_own_words(engine, fake_llm, sink):
    fake_llm.replies.extend([Reply(fault="529")] * 3)
    await start(engine, REF, "a web crawler", mode=Mode.DIAGRAM, sink=sink)
    assert sink.messages[-1].kind is Kind.ERROR
    sink.clear()
    await reply(engine, REF, "hello?", sink=sink)
    assert "draw the diagram" in sink.messages[-1].markdown
    await reply(engine, REF, "retry", sink=sink)
    assert sink.sections() == list(DIAGRAM_ONLY_SECTIONS)


async def test_design_without_any_markers_is_shown_as_written(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL shortener", sink=sink)
    fake_llm.replies.extend([Reply(text="Here is my whole design in one go: a cache, a DB."),
                             Reply(text="Still no markers, sorry: cache + DB.")])
    sink.clear()
    await reply(engine, REF, "100M links", sink=sink)
    assert "without its usual sections" in sink.messages[0].markdown
    assert "a cache, a DB" in sink.messages[1].markdown and sink.messages[1].actions == [Action.CURVEBALL, Action.END]
    assert await phase(engine) is Phase.DISCUSSING


@pytest.mark.parametrize("guilds,channels,where,allowed", [
    ("", "", ("1", "2"), True),
    ("1", "", ("1", "99"), True),
    ("1", "", ("2", "99"), False),
    ("1", "5", ("1", "5"), True),
    ("1", "5", ("1", "6"), False),
])
async def test_allow_lists_are_the_core_s_rule(fake_llm, guilds, channels, where, allowed):
    from bot.app import build_engine
    from bot.store import MemoryStore
    from tests.conftest import make_settings

    engine = build_engine(make_settings(fake_llm.base_url, discord_allowed_guilds=guilds,
                                        discord_allowed_channels=channels), store=MemoryStore())
    ref = ThreadRef(platform="discord", workspace=where[0], channel=where[1], thread="")
    try:
        receipt = await start(engine, ref, "Design a URL shortener", sink=RecordingSink(), wait=False)
        assert (receipt.kind is ReceiptKind.QUEUED) is allowed
        if not allowed:
            assert receipt.kind is ReceiptKind.REFUSED and "enabled" in receipt.text
        reply_receipt = await reply(engine, ref.model_copy(update={"thread": "T9"}), "hi", wait=False)
        assert reply_receipt.kind is ReceiptKind.NOT_OURS
    finally:
        await engine.shutdown(grace=1)
        await engine.llm.close()


@pytest.mark.parametrize("problem", ["\u200b\u200b", "\u202e\u2066 \u200f", "\x1b[31m\x07"])
async def test_invisible_or_control_only_problems_get_the_usage_help(engine, fake_llm, sink, problem):
    receipt = await start(engine, REF, problem, sink=sink)
    assert receipt.kind is ReceiptKind.REFUSED and "How to use me" in receipt.text
    assert fake_llm.requests == []


async def test_control_characters_never_reach_the_model(engine, fake_llm, sink):
    await start(engine, REF, "Design a URL \x1b[2Jshortener\x07", sink=sink)
    text = fake_llm.requests[0]["messages"][0]["content"][0]["text"]
    assert "\x1b" not in text and "\x07" not in text and "shortener" in text


async def test_interviewer_cards_for_a_problem_of_the_bank(fake_llm, sink):
    from bot.app import build_engine
    from bot.store import MemoryStore
    from tests.conftest import make_settings

    engine = build_engine(make_settings(fake_llm.base_url, interviewer_cards=True), store=MemoryStore())
    try:
        await start(engine, REF, "tinyurl (staff)", sink=sink)
        assert [m.kind for m in sink.messages] == [Kind.QUESTIONS, Kind.CARD]
        assert "Interviewer card:" in sink.messages[1].markdown
        state = await engine.store.load(REF.key())
        assert state.card_id == "url_shortener" and state.level == "staff"
        clarify = fake_llm.requests[0]["messages"][0]["content"][0]["text"]
        assert "staff" in clarify.lower()
        sink.clear()
        await reply(engine, REF, "100M links a month", sink=sink)
        design = [r for r in fake_llm.requests if "Task: present the design." in r["messages"][-1]["content"][-1]["text"]]
        assert "back-of-the-envelope" in design[0]["messages"][-1]["content"][-1]["text"].lower()
        assert sink.messages[-1].kind is Kind.CARD and sink.messages[-1].actions == [Action.CURVEBALL, Action.END]
        assert "Follow-ups" in sink.messages[-1].markdown
    finally:
        await engine.llm.close()


async def test_curveball_from_the_card_then_written_for_the_design(fake_llm, sink):
    from bot.app import build_engine
    from bot.cards import default_bank
    from bot.store import MemoryStore
    from tests.conftest import make_settings

    engine = build_engine(make_settings(fake_llm.base_url), store=MemoryStore())
    try:
        await start(engine, REF, "Design a URL shortener", sink=sink)
        await reply(engine, REF, "skip", sink=sink)
        card = default_bank().get("url_shortener")
        throwable = len(card.follow_ups) + 1
        for _ in range(throwable):
            sink.clear()
            await reply(engine, REF, "curveball", sink=sink)
            assert sink.messages[-1].kind is Kind.CARD and "Try asking the candidate" in sink.messages[-1].markdown
        state = await engine.store.load(REF.key())
        assert len(set(state.thrown)) == throwable and card.curveball in state.thrown
        n = len(fake_llm.requests)
        fake_llm.replies.append(Reply(text="What happens when the same long URL is shortened twice?"))
        sink.clear()
        await reply(engine, REF, "curveball", sink=sink)
        assert len(fake_llm.requests) == n + 1
        assert "shortened twice" in sink.messages[-1].markdown
    finally:
        await engine.llm.close()
