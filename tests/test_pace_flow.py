"""The design's pace (full, interactive), the answer window and the curveball button, end to end on the
engine: real SDK against the fake model server, scripted replies, recording platform."""
from __future__ import annotations

import asyncio
import time

import pytest

from bot import texts
from bot.app import build_engine
from bot.framing import read_blocks
from bot.inbound import EventKind, Inbound
from bot.messages import Action, Kind
from bot.pace import INTERACTIVE_STEPS, Pace, pace_for, parse_pace_map
from bot.sections import DESIGN_SECTIONS, marker
from bot.state import Mode, Phase, ThreadRef
from bot.store import MemoryStore
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import Reply
from tests.fakes.llm_script import DEEP_DIVE_OPTIONS, SECTION_BODIES, last_user_text, sections_text
from tests.fakes.platform import platform_of, press, reply, start, submit
from tests.fakes.sinks import RecordingSink

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T-pace")
STEP0, STEP1, STEP2 = (list(s) for s in INTERACTIVE_STEPS)


def tasks(fake_llm) -> list[str]:
    return [last_user_text(r).splitlines()[0] for r in fake_llm.requests]


def prompt_of(fake_llm, task: str, nth: int = -1) -> str:
    return [last_user_text(r) for r in fake_llm.requests if last_user_text(r).startswith(task)][nth]


async def load(engine, ref=REF):
    return await engine.store.load(ref.key(engine.store.prefix))


async def choose(engine, index: int, sink: RecordingSink, user: str = "cy") -> None:
    await submit(engine, Inbound(kind=EventKind.BUTTON, ref=REF, event_id=f"choose-{time.time_ns()}", author=user,
                                 action=Action.CHOOSE, text=str(index)), sink)


@pytest.fixture
async def make_engine(fake_llm, redis_store):
    made = []

    def make(store=None, **overrides):
        engine = build_engine(make_settings(fake_llm.base_url, **overrides), store=store or MemoryStore())
        made.append(engine)
        return engine
    yield make
    for engine in made:
        await engine.shutdown(grace=1)
        await engine.llm.close()


async def to_check_in(engine, sink, problem="Design a URL shortener pace: interactive"):
    await start(engine, REF, problem, user="ana", sink=sink)
    sink.clear()
    await reply(engine, REF, "100M new links a month, 10B redirects", user="ben", sink=sink)


# ---------------------------------------------------------------------- interactive
async def test_interactive_pace_checks_in_offers_deep_dives_and_finishes(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    assert sink.sections() == STEP0
    check_in = sink.messages[-1]
    assert check_in.kind is Kind.CHECK_IN and check_in.actions == [Action.CONTINUE]
    state = await load(engine)
    assert state.pace == "interactive" and state.phase is Phase.CHECK_IN and state.design_step == 1
    first = prompt_of(fake_llm, "Task: present the design.")
    assert [marker(s) in first for s in DESIGN_SECTIONS] == [s in STEP0 for s in DESIGN_SECTIONS]
    assert "does this scope match what you had in mind" in first.lower()
    assert "back of the envelope" in first.lower(), "the depth instructions still go with step 1"

    sink.clear()
    await press(engine, REF, Action.CONTINUE, user="ana", sink=sink)
    assert sink.sections() == STEP1
    step1 = prompt_of(fake_llm, "Task: continue the design.")
    assert "confirmed the scope" in step1 and "<<<options>>>" in step1
    assert [marker(s) in step1 for s in DESIGN_SECTIONS] == [s in STEP1 for s in DESIGN_SECTIONS]
    diagram = next(m for m in sink.messages if m.section == "diagram")
    assert "<<<options>>>" not in diagram.markdown and "Redirect cache" not in diagram.markdown
    offer = sink.messages[-1]
    assert offer.kind is Kind.CHECK_IN and offer.actions == [Action.CONTINUE]
    assert [c.label for c in offer.choices] == ["Code Generator", "Redirect cache", "Click counting"]
    assert "the hot path at 200k reads a second" in offer.markdown
    assert (await load(engine)).phase is Phase.CHOOSING

    sink.clear()
    await choose(engine, 1, sink)
    assert "Deep dive on **Redirect cache**" in sink.messages[0].markdown
    assert sink.sections() == STEP2
    step2 = prompt_of(fake_llm, "Task: continue the design.")
    assert "The interviewer wants the deep dive on: Redirect cache." in step2
    closing = next(m for m in sink.messages if m.section == "closing")
    assert closing.actions == [Action.CURVEBALL, Action.END]
    state = await load(engine)
    assert state.phase is Phase.DISCUSSING and list(state.sections) == list(DESIGN_SECTIONS)
    assert tasks(fake_llm).count("Task: continue the design.") == 2
    # The discussion sees the whole design: every step's prompt and answer stay in the history.
    assert sum(t.content.startswith("Task: continue the design.") for t in state.history) == 2

    sink.clear()
    await reply(engine, REF, "describe the diagram", user="ana", sink=sink)
    assert sink.messages[-1].kind is Kind.ANSWER


async def test_a_check_in_reply_adjusts_the_scope_and_a_reply_names_the_deep_dive(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    sink.clear()
    await reply(engine, REF, "Also custom aliases, and plan for 10x the redirects", user="dee", sink=sink)
    assert sink.sections() == STEP1, "a reply adjusts the scope and the design carries on at once"
    step1 = prompt_of(fake_llm, "Task: continue the design.")
    notes = [b for b in read_blocks(step1) if b.kind == "message"]
    assert [(b.sender, b.text) for b in notes] == [("dee", "Also custom aliases, and plan for 10x the redirects")]
    sink.clear()
    await reply(engine, REF, "let's do the click counting one", user="ana", sink=sink)
    assert "Deep dive on **Click counting**" in sink.messages[0].markdown
    assert "deep dive on: Click counting." in prompt_of(fake_llm, "Task: continue the design.")
    assert sink.sections() == STEP2


async def test_a_reply_naming_another_part_gets_that_deep_dive_framed(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    await reply(engine, REF, "continue", sink=sink)
    sink.clear()
    await reply(engine, REF, "the abuse filter please", user="ana", sink=sink)
    step2 = prompt_of(fake_llm, "Task: continue the design.")
    named = [b for b in read_blocks(step2) if b.kind == "message"]
    assert [(b.sender, b.text) for b in named] == [("ana", "the abuse filter please")]
    assert sink.sections() == STEP2


async def test_continue_at_the_offer_lets_the_candidate_pick_and_stale_buttons_are_refused(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    await press(engine, REF, Action.CONTINUE, sink=sink)
    sink.clear()
    await press(engine, REF, Action.CONTINUE, sink=sink)
    assert "deep dive on: Code Generator." in prompt_of(fake_llm, "Task: continue the design.")
    sink.clear()
    await choose(engine, 2, sink)
    await press(engine, REF, Action.CONTINUE, sink=sink)
    await press(engine, REF, Action.GO, sink=sink)
    assert [m.kind for m in sink.messages] == [Kind.NOTICE] * 3
    assert all("already moved past" in m.markdown for m in sink.messages)
    assert tasks(fake_llm).count("Task: continue the design.") == 2


async def test_offer_falls_back_to_the_diagram_s_components_when_the_model_offers_none(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    fake_llm.replies.append(Reply(text=sections_text(SECTION_BODIES, STEP1)))   # no <<<options>>>
    sink.clear()
    await press(engine, REF, Action.CONTINUE, sink=sink)
    labels = [c.label for c in sink.messages[-1].choices]
    assert labels and labels[0] == "URL Store", "the diagram's bottleneck comes first"
    assert "Client" not in labels


async def test_failure_mid_step_keeps_what_was_posted_and_retry_finishes_the_step(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    text = sections_text(SECTION_BODIES, STEP1) + "\n" + DEEP_DIVE_OPTIONS
    fake_llm.replies.append(Reply(text=text, fault="midstream_overloaded",
                                  fault_after_chars=text.index(marker("diagram")) + 30))
    sink.clear()
    await press(engine, REF, Action.CONTINUE, sink=sink)
    assert sink.sections() == ["api", "high_level"] and sink.messages[-1].kind is Kind.ERROR
    assert (await load(engine)).phase is Phase.PRESENTING
    sink.clear()
    await reply(engine, REF, "what about caching?", sink=sink)
    assert "interrupted" in sink.messages[-1].markdown and sink.messages[-1].actions == [Action.RETRY]
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert sink.sections() == ["diagram"]
    assert tasks(fake_llm)[-1] == "Task: finish the design."
    assert sink.messages[-1].choices, "the offer follows the finished step"
    assert (await load(engine)).phase is Phase.CHOOSING


async def test_failure_before_a_step_posts_anything_leaves_the_stop_as_it_was(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    await press(engine, REF, Action.CONTINUE, sink=sink)
    fake_llm.replies.extend([Reply(fault="529")] * 6)
    sink.clear()
    await choose(engine, 0, sink)
    assert sink.messages[-1].kind is Kind.ERROR and sink.sections() == []
    state = await load(engine)
    assert state.phase is Phase.CHOOSING and state.deep_dive == "Code Generator"
    fake_llm.replies.clear()
    sink.clear()
    await reply(engine, REF, "retry", sink=sink)
    assert sink.sections() == STEP2
    assert "deep dive on: Code Generator." in prompt_of(fake_llm, "Task: continue the design.")


async def test_a_restart_in_the_middle_of_a_step_continues_without_repeating_or_skipping(
        make_engine, fake_llm, redis_store):
    first, sink = make_engine(store=redis_store), RecordingSink()
    await to_check_in(first, sink)
    text = sections_text(SECTION_BODIES, STEP1) + "\n" + DEEP_DIVE_OPTIONS
    fake_llm.replies.append(Reply(text=text, chunk_chars=8, tokens_per_second=400))
    sink.clear()
    await press(first, REF, Action.CONTINUE, sink=sink, event_id="continue-1", wait=False)
    for _ in range(400):
        if "api" in sink.sections():
            break
        await asyncio.sleep(0.01)
    await first.shutdown(grace=0)   # past the grace: the turn stops at its next message, checkpointed
    posted_before = list(sink.sections())
    assert "api" in posted_before and "diagram" not in posted_before
    saved = await load(first)
    assert saved.inflight is not None and saved.design_step == 1

    second, sink2 = make_engine(store=redis_store), RecordingSink()
    platform_of(second).current = sink2
    await second.pipeline.recover()
    await second.pipeline.idle()
    assert any("Picking up where I left off" in m.markdown for m in sink2.messages)
    assert posted_before + sink2.sections() == STEP1, "each section of the step exactly once, in order"
    state = await load(second)
    assert state.phase is Phase.CHOOSING and state.design_step == 2 and state.inflight is None
    assert sink2.messages[-1].choices
    sink2.clear()
    await choose(second, 0, sink2)
    assert sink2.sections() == STEP2 and (await load(second)).phase is Phase.DISCUSSING


# ---------------------------------------------------------------------- full pace and defaults
async def test_full_pace_is_one_reply_and_the_default(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "100M links", sink=sink)
    assert sink.sections() == list(DESIGN_SECTIONS)
    assert tasks(fake_llm).count("Task: present the design.") == 1
    assert "Task: continue the design." not in tasks(fake_llm)
    assert not sink.of(Kind.CHECK_IN) and (await load(engine)).pace == "full"


async def test_workspace_default_pace_and_the_command_wins(make_engine, fake_llm):
    engine, sink = make_engine(pace_by_workspace="W=interactive, slack:T1=full", default_pace="full"), RecordingSink()
    await start(engine, REF, "Design a URL shortener", sink=sink)
    assert (await load(engine)).pace == "interactive"
    other = REF.model_copy(update={"thread": "T-other"})
    await start(engine, other, "Design a URL shortener pace: full", sink=sink)
    assert (await load(engine, other)).pace == "full"
    assert parse_pace_map("slack:T1=full, 42=interactive") == {"slack:T1": Pace.FULL, "42": Pace.INTERACTIVE}
    with pytest.raises(ValueError):
        parse_pace_map("T1=fast")
    settings = make_settings("http://x", default_pace="interactive", pace_by_workspace="slack:T1=full")
    assert pace_for(settings, "slack", "T1") is Pace.FULL and pace_for(settings, "discord", "T1") is Pace.INTERACTIVE


# ---------------------------------------------------------------------- the answer window
async def test_three_people_answer_in_the_window_and_the_timer_starts_the_design(make_engine, fake_llm):
    engine, sink = make_engine(collect_seconds=60), RecordingSink()
    await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)
    sink.clear()
    await reply(engine, REF, "100M new links a month", user="ana", sink=sink)
    assert [m.kind for m in sink.messages] == [Kind.NOTICE] and sink.messages[0].actions == [Action.GO]
    assert "60 seconds" in sink.messages[0].markdown
    await reply(engine, REF, "custom aliases are out of scope", user="ben", sink=sink)
    await reply(engine, REF, "p99 redirect under 50 ms", user="cy", sink=sink)
    assert len(sink.messages) == 1 and tasks(fake_llm) == ["Task: clarifying questions."]
    state = await load(engine)
    assert state.phase is Phase.COLLECTING and len(state.answers) == 3

    assert await engine.pipeline.fire_due(now=time.time() + 30) == 0, "not due yet"
    assert await engine.pipeline.fire_due(now=time.time() + 61) == 1
    await engine.pipeline.idle()
    assert "Got 3 answers" in sink.text() and sink.sections() == list(DESIGN_SECTIONS)
    design = prompt_of(fake_llm, "Task: present the design.")
    answers = [(b.sender, b.text) for b in read_blocks(design) if b.kind == "answer"]
    assert answers == [("ana", "100M new links a month"), ("ben", "custom aliases are out of scope"),
                       ("cy", "p99 redirect under 50 ms")]


@pytest.mark.parametrize("how", ["button", "go", "skip"])
async def test_go_closes_the_window_at_once_and_the_late_timer_does_nothing(make_engine, fake_llm, how):
    engine, sink = make_engine(collect_seconds=60), RecordingSink()
    await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)
    await reply(engine, REF, "100M new links a month", user="ana", sink=sink)
    await reply(engine, REF, "and analytics", user="ben", sink=sink)
    sink.clear()
    if how == "button":
        await press(engine, REF, Action.GO, user="ben", sink=sink)
    else:
        await reply(engine, REF, how, user="ben", sink=sink)
    assert "Got 2 answers" in sink.messages[0].markdown and sink.sections() == list(DESIGN_SECTIONS)
    assert tasks(fake_llm).count("Task: present the design.") == 1
    sink.clear()
    assert await engine.pipeline.fire_due(now=time.time() + 61) == 1
    await engine.pipeline.idle()
    assert sink.messages == [] and tasks(fake_llm).count("Task: present the design.") == 1


async def test_window_off_the_first_answer_starts_the_design(make_engine, fake_llm):
    engine, sink = make_engine(collect_seconds=0), RecordingSink()
    await start(engine, REF, "Design a URL shortener", sink=sink)
    sink.clear()
    await reply(engine, REF, "100M links", sink=sink)
    assert sink.sections() == list(DESIGN_SECTIONS)


async def test_window_then_interactive_pace(make_engine, fake_llm):
    engine, sink = make_engine(collect_seconds=60, default_pace="interactive"), RecordingSink()
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "100M links", user="ana", sink=sink)
    sink.clear()
    await press(engine, REF, Action.GO, sink=sink)
    assert sink.sections() == STEP0 and sink.messages[-1].kind is Kind.CHECK_IN


# ---------------------------------------------------------------------- curveball button, diagram level
async def test_curveball_button_gives_the_group_a_follow_up(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await start(engine, REF, "Design a URL shortener", sink=sink)
    await reply(engine, REF, "skip", sink=sink)
    sink.clear()
    await press(engine, REF, Action.CURVEBALL, user="ana", sink=sink)
    assert sink.messages[-1].kind is Kind.CARD and "Try asking the candidate" in sink.messages[-1].markdown
    assert len((await load(engine)).thrown) == 1


async def test_diagram_mode_takes_the_level(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    platform = platform_of(engine)
    await start(engine, REF, "a ride sharing app level: staff", sink=sink, mode=Mode.DIAGRAM)
    ask = prompt_of(fake_llm, "Task: interview-ready flow diagram.")
    assert "strong staff-level candidate" in ask and "Say so in one short sentence" in ask
    assert "$" not in ask
    assert (await load(engine, platform.opened[-1])).level == "staff"
    assert "(staff level)" in platform.announced[-1], "the thread's first line says the level"


# ---------------------------------------------------------------------- the prompt files
def test_every_step_prompt_together_asks_for_every_seed_section_and_the_new_depth(make_engine):
    from string import Template

    from bot.pace import PROMPTS_DIR
    from bot.state import InterviewState
    engine = make_engine()
    state = InterviewState(ref=REF, problem="Design a URL shortener", pace="interactive", deep_dive="Code Generator")
    asks = [engine.steps.pace.step_ask(state, i) for i in range(len(INTERACTIVE_STEPS))]
    asked = [sid for ask in asks for sid in DESIGN_SECTIONS if marker(sid) in ask]
    assert asked == list(DESIGN_SECTIONS), "each seed section asked for once, in the seed's order"
    full = engine.steps.design_ask(state)
    assert all(marker(sid) in full for sid in DESIGN_SECTIONS)
    design_txt = (PROMPTS_DIR / "design.txt").read_text(encoding="utf-8")
    assert all(f"- {sid}:" in design_txt for sid in DESIGN_SECTIONS), "every section is described"
    depth = asks[0].lower()
    for new in ("back of the envelope", "core entities and data model", "write path", "read path", "consistency",
                "what we built:", "biggest risk:", "what i'd do next:"):
        assert new in depth and new in full.lower(), new
    assert "does this scope match" in asks[0].lower() and "<<<options>>>" in asks[1]
    assert "The interviewer wants the deep dive on: Code Generator." in asks[2]
    assert all(a.startswith(t) for a, t in zip(asks, ("Task: present the design.", "Task: continue the design.",
                                                      "Task: continue the design.")))
    identifiers = Template((PROMPTS_DIR / "design_next.txt").read_text(encoding="utf-8")).get_identifiers()
    assert sorted(identifiers) == ["notes", "section_list"]


@pytest.mark.parametrize("text, word", [("go", "go"), ("Let's go!", "go"), ("continue", "go"), ("carry on", "go"),
                                        ("go ahead", "skip"), ("go with redis", "none"), ("next", "next")])
def test_go_words(text, word):
    from bot.commands import word_of
    assert word_of(text).value == word


async def test_a_message_sent_while_the_step_was_written_is_a_remark_not_the_answer_to_the_stop(make_engine, fake_llm):
    engine, sink = make_engine(), RecordingSink()
    await to_check_in(engine, sink)
    state = await load(engine)
    assert state.phase is Phase.CHECK_IN and state.stop_at > 0

    async def sent_earlier(text: str, user: str) -> None:   # typed before the stop was posted
        stop_at = (await load(engine)).stop_at
        await submit(engine, Inbound(kind=EventKind.REPLY, ref=REF, event_id=f"early-{time.time_ns()}", author=user,
                                     text=text, received_at=stop_at - 1), sink)

    sink.clear()
    await sent_earlier("nice, love the cache", "dee")
    assert [m.markdown for m in sink.messages] == [texts.REMARK_AT_CHECK_IN] and not sink.sections()
    state = await load(engine)
    assert state.phase is Phase.CHECK_IN and [n.text for n in state.scope_notes] == ["nice, love the cache"]
    await reply(engine, REF, "continue", sink=sink)
    step1 = prompt_of(fake_llm, "Task: continue the design.")
    assert [b.text for b in read_blocks(step1) if b.kind == "message"] == ["nice, love the cache"]

    sink.clear()
    await sent_earlier("the diagram is neat", "ben")
    assert [m.markdown for m in sink.messages] == [texts.REMARK_AT_OFFER]
    state = await load(engine)
    assert state.phase is Phase.CHOOSING and not state.deep_dive
    sink.clear()
    await reply(engine, REF, "let's do the click counting one", user="ana", sink=sink)
    assert "Deep dive on **Click counting**" in sink.messages[0].markdown
