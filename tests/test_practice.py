"""Practice mode in the core: the bot interviews a person (scripted model, recording platform, real store)."""
from __future__ import annotations

import json

import pytest

from bot.app import build_engine
from bot.inbound import EventKind, Inbound, InboundAttachment, ReceiptKind
from bot.messages import Kind
from bot.rubric import load_rubric
from bot.state import Mode, Phase, ThreadRef
from bot.store import MemoryStore, RedisStore
from tests.conftest import make_settings, redis_url
from tests.fakes.fake_anthropic import FakeAnthropic, Reply
from tests.fakes.llm_script import last_user_text
from tests.fakes.platform import platform_of, reply, start, submit
from tests.fakes.practice_script import practice_responder, system_text
from tests.fakes.sinks import RecordingSink

T0 = 1_700_000_000.0
CHANNEL = ThreadRef(platform="test", workspace="W1", channel="C1", thread="")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Clock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def model():
    async with FakeAnthropic(responder=practice_responder) as fake:
        yield fake


def practice_engine(model, store=None, **overrides):
    engine = build_engine(make_settings(model.base_url, **overrides), store=store or MemoryStore())
    clock = Clock()
    engine.practice.steps.now = clock
    return engine, clock


async def open_practice(engine, problem="Design a URL shortener", user="ana", author_id="U1"):
    sink = RecordingSink()
    receipt = await submit(engine, Inbound(kind=EventKind.PRACTICE, ref=CHANNEL, event_id=f"cmd-{problem}-{user}",
                                           author=user, author_id=author_id, text=problem), sink)
    assert receipt.kind is ReceiptKind.QUEUED, receipt
    ref = platform_of(engine).opened[-1]
    return ref, sink


async def say(engine, ref, text, *, user="ana", author_id="U1", attachments=None):
    return await submit(engine, Inbound(kind=EventKind.REPLY, ref=ref, event_id=f"m-{text[:20]}-{user}-{id(text)}",
                                        author=user, author_id=author_id, text=text,
                                        attachments=attachments or []), None)


def interviewer_requests(model):
    return [r for r in model.requests if system_text(r).startswith("You are the interviewer")]


async def test_practice_opens_with_the_clock_and_answers_clarifying_questions_from_the_card(model):
    engine, clock = practice_engine(model)
    ref, sink = await open_practice(engine)
    state = await engine.store.load(engine.key(ref))
    assert state.mode is Mode.PRACTICE and state.card_id == "url_shortener"
    assert "What would you like to know" in sink.text() and "5 min left for the requirements" in sink.text()
    clock.t += 60
    await say(engine, ref, "How many users do we have?")
    clock.t += 60
    await say(engine, ref, "Sorry, again: how many users are there?")
    answers = [m.markdown for m in sink.messages if m.markdown.startswith("Users:")]
    assert len(answers) == 2 and answers[0].split("\n")[0] == answers[1].split("\n")[0]
    assert "100M" in answers[0] or any(ch.isdigit() for ch in answers[0].split("\n")[0])
    assert "3 min left for the requirements" in sink.text()
    await engine.llm.close()
